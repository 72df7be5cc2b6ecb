"""Where Prometheus scrapes: ``/metrics`` and ``/<service>/metrics`` answer in both modes, the
all-in-one process (one registry for five services) and a process serving one service."""

from __future__ import annotations

import httpx

from services.planning.app import DEFINITION as PLANNING
from shared.contract.types import Role
from shared.kit.app import create_service_app
from shared.kit.settings import Settings
from tests.conftest import bearer

SERVICES = ("planning", "tasks", "metrics", "alerts", "approvals")


def _is_exposition(answer: httpx.Response) -> bool:
    return answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")


def _has_request_series(body: str, service: str, route: str) -> bool:
    return any(
        line.startswith("http_requests_total{")
        and f'service="{service}"' in line
        and f'route="{route}"' in line
        for line in body.splitlines()
    )


async def test_the_all_in_one_process_answers_every_scrape_path(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/planning/plans", headers=bearer(Role.SPECIALIST))
    for path in ["/metrics", *(f"/{s}/metrics" for s in SERVICES)]:
        answer = await client.get(path)
        assert _is_exposition(answer), (path, answer.status_code, answer.text[:200])
        # One registry per process: every service's series, told apart by their label.
        for service in SERVICES:
            assert f'outbox_pending{{service="{service}"}}' in answer.text, (path, service)
        assert _has_request_series(answer.text, "planning", "/plans"), path


async def test_a_single_service_process_answers_at_the_root_and_under_its_prefix(
    settings: Settings, database_url: str
) -> None:
    app = create_service_app(PLANNING, settings=settings, database_url=database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            await http.get("/planning/plans", headers=bearer(Role.SPECIALIST))
            for path in ("/metrics", "/planning/metrics"):
                answer = await http.get(path)
                assert _is_exposition(answer), (path, answer.status_code)
                assert 'outbox_pending{service="planning"}' in answer.text
                assert _has_request_series(answer.text, "planning", "/plans"), path
