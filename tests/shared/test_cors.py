"""Internal frontends in a browser: preflight, credentials and the headers they may read."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from allinone.app import create_allinone_app
from shared.contract.types import Role
from shared.kit.settings import Settings
from tests.conftest import bearer

FRONTEND = "https://marketing.example.cn"


@pytest.fixture
async def browser(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(update={"cors_allow_origins": [FRONTEND]})
    app, root = create_allinone_app(configured, database_url=database_url)
    async with root.router.lifespan_context(root):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def test_a_preflight_from_an_allowed_origin_is_answered_before_authentication(
    browser: httpx.AsyncClient,
) -> None:
    answer = await browser.options(
        "/planning/plans",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == FRONTEND
    assert answer.headers["access-control-allow-credentials"] == "true"
    assert "POST" in answer.headers["access-control-allow-methods"]
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "idempotency-key"} <= set(allowed.split(", "))


async def test_another_origin_gets_no_permission(browser: httpx.AsyncClient) -> None:
    answer = await browser.options(
        "/planning/plans",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in answer.headers
    read = await browser.get(
        "/planning/plans", headers={"Origin": "https://evil.example", **bearer(Role.SUPERVISOR)}
    )
    assert "access-control-allow-origin" not in read.headers


async def test_answers_and_errors_expose_the_headers_a_frontend_reads(
    browser: httpx.AsyncClient,
) -> None:
    created = await browser.post(
        "/planning/plans",
        headers={"Origin": FRONTEND, **bearer(Role.SPECIALIST, "amy")},
        json={
            "name": "618",
            "product": "serum",
            "starts_on": "2024-05-01",
            "ends_on": "2024-06-30",
        },
    )
    assert created.status_code == 201, created.text
    assert created.headers["access-control-allow-origin"] == FRONTEND
    exposed = {
        h.strip().lower() for h in created.headers["access-control-expose-headers"].split(",")
    }
    assert {"etag", "location", "x-correlation-id", "retry-after", "link"} <= exposed

    refused = await browser.get("/planning/plans", headers={"Origin": FRONTEND})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == FRONTEND  # the browser may read why


async def test_without_configured_origins_no_cross_origin_access(
    planning_client: httpx.AsyncClient,
) -> None:
    answer = await planning_client.options(
        "/planning/plans", headers={"Origin": FRONTEND, "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in answer.headers
