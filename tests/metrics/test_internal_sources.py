"""Internal systems (the user back end, e-commerce, offline venues, the search index, retention)
post the same batches as ad platforms, authenticated by a service token bound to their source
instead of a signature: same delivery ids, same whole-batch rule, same coalescing."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from services.metrics.facts import coalesce
from services.metrics.facts.signatures import new_secret
from shared.contract.types import Role
from shared.kit.settings import Settings
from tests.conftest import bearer
from tests.harness.apps import one_service
from tests.metrics.helpers import (
    MANAGER,
    TECH,
    announce,
    canonical,
    map_entities,
    objective,
    plan_targets,
    post,
    register,
)
from tests.polling import eventually

USER_BACKEND = bearer(Role.SERVICE, "user-backend")
# One row goes through the coalescer; more than SMALL_ROWS rows are stored alone.
SIZES = pytest.mark.parametrize("rows", [1, coalesce.SMALL_ROWS + 10], ids=["small", "large"])


def _libpq(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


async def _scalar(database_url: str, query: str) -> Any:
    conn = await asyncpg.connect(_libpq(database_url))
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


async def register_internal(
    client: httpx.AsyncClient, system: str = "user_backend", *subjects: str
) -> dict[str, Any]:
    """A new internal source posting with the service tokens of ``subjects``."""
    created = await client.post(
        "/metrics/sources",
        json={
            "name": f"{system} (production)",
            "kind": "internal",
            "platform": "internal",
            "system": system,
            "account_id": "prod",
            "token_subjects": list(subjects or ["user-backend"]),
        },
        headers=TECH,
    )
    assert created.status_code == 201, created.text
    source: dict[str, Any] = created.json()
    return source


async def send(
    client: httpx.AsyncClient,
    source_id: str,
    payload: dict[str, Any],
    headers: dict[str, str],
    *,
    key: str | None = None,
) -> httpx.Response:
    """POST a batch as an internal system does: its token and an Idempotency-Key."""
    return await client.post(
        f"/metrics/webhooks/{source_id}",
        content=json.dumps(payload).encode(),
        headers={
            "content-type": "application/json",
            "idempotency-key": key or f"ub-{uuid.uuid4().hex}",
            **headers,
        },
    )


def registrations(rows: int, report_time: str = "2024-06-08T02:00:00Z") -> dict[str, Any]:
    """``rows`` days of registrations from the user back end, 100 a day."""
    days = [date(2024, 4, 1) + timedelta(days=n) for n in range(rows)]
    return canonical(
        report_time, *(("campus-app", d.isoformat(), "registrations", "100") for d in days)
    )


async def test_an_internal_source_is_registered_without_secrets(
    metrics_client: httpx.AsyncClient,
) -> None:
    source = await register_internal(metrics_client, "ecommerce", "ecommerce-orders")
    assert (source["kind"], source["system"], source["token_subjects"], source["secrets"]) == (
        "internal",
        "ecommerce",
        ["ecommerce-orders"],
        [],
    )
    listed = (await metrics_client.get("/metrics/sources", headers=TECH)).json()["items"]
    assert [s["kind"] for s in listed] == ["internal"]
    rotated = await metrics_client.post(f"/metrics/sources/{source['id']}/secrets", headers=TECH)
    assert rotated.status_code == 422
    assert rotated.json()["rule"] == "internal-source-has-no-secrets"
    platform, _secret = await register(metrics_client, "meta")
    assert (
        next(
            s
            for s in (await metrics_client.get("/metrics/sources", headers=TECH)).json()["items"]
            if s["id"] == platform
        )["kind"]
        == "platform"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "internal", "platform": "internal", "token_subjects": ["user-backend"]},
        {"kind": "internal", "platform": "internal", "system": "user_backend"},
        {"kind": "internal", "platform": "meta", "system": "user_backend", "token_subjects": ["x"]},
        {"kind": "platform", "platform": "meta", "token_subjects": ["user-backend"]},
        {"kind": "internal", "platform": "internal", "system": "crm", "token_subjects": ["x"]},
    ],
    ids=[
        "no-system",
        "no-subjects",
        "platform-not-internal",
        "platform-with-subjects",
        "unknown-system",
    ],
)
async def test_a_source_with_the_wrong_way_to_authenticate_is_refused(
    metrics_client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    got = await metrics_client.post(
        "/metrics/sources", json={"name": "x", "account_id": "prod", **body}, headers=TECH
    )
    assert got.status_code == 422, got.text
    assert got.headers["content-type"] == "application/problem+json"
    assert (await metrics_client.get("/metrics/sources", headers=TECH)).json()["items"] == []


async def test_the_user_back_end_posts_registrations_with_its_token_and_the_kpi_counts_them(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    plan_id = uuid.uuid4()
    targets = plan_targets(plan_id, objective("registrations", 1000), name="campus sign-up drive")
    await announce(metrics_client, database_url, targets)
    kpis = f"/metrics/plans/{plan_id}/kpis"
    source = (await register_internal(metrics_client))["id"]
    await map_entities(metrics_client, source, plan_id, "campus-app")
    batch = canonical(
        "2024-06-11T02:00:00Z",
        ("campus-app", "2024-06-09", "registrations", "180"),
        ("campus-app", "2024-06-10", "registrations", "220"),
        ("campus-app", "2024-06-10", "first_orders", "35"),
    )
    posted = await send(metrics_client, source, batch, USER_BACKEND, key="ub-2024-06-10")
    assert posted.status_code == 200, posted.text
    assert posted.json() == {
        "delivery_id": "ub-2024-06-10",
        "rows": 3,
        "facts": 3,
        "inserted": 3,
        "revised": 0,
        "ignored_stale": 0,
    }
    got = (await metrics_client.get(kpis, params={"as_of": "2024-06-15"}, headers=MANAGER)).json()
    (registrations,) = got["objectives"]
    assert Decimal(registrations["actual"]) == Decimal(400)
    assert Decimal(registrations["achievement"]) == Decimal("0.4")


async def test_every_internal_metric_is_stored_as_reported(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    reported = {
        ("user_backend", "user-backend"): [("registrations", "412"), ("first_orders", "57")],
        ("ecommerce", "ecommerce-orders"): [("gmv", "125030.50")],
        ("offline", "venue-counter"): [("footfall", "3120")],
        ("search_index", "search-index"): [("brand_search_index", "1450.5")],
        # A ratio the system works out itself: no numerator or denominator to sum.
        ("retention", "retention-job"): [("next_day_retention", "0.4235")],
    }
    for (system, subject), metrics in reported.items():
        source = (await register_internal(metrics_client, system, subject))["id"]
        batch = canonical(
            "2024-06-11T02:00:00Z", *((system, "2024-06-10", m, v) for m, v in metrics)
        )
        got = await send(metrics_client, source, batch, bearer(Role.SERVICE, subject))
        assert got.status_code == 200, got.text
    conn = await asyncpg.connect(_libpq(database_url))
    try:
        stored = {
            r["metric"]: r["value"]
            for r in await conn.fetch("SELECT metric, value FROM metrics.facts")
        }
    finally:
        await conn.close()
    assert stored == {m: Decimal(v) for metrics in reported.values() for m, v in metrics}


@SIZES
async def test_only_the_bound_service_token_opens_an_internal_source(
    metrics_client: httpx.AsyncClient, database_url: str, rows: int
) -> None:
    source = (await register_internal(metrics_client))["id"]
    batch = registrations(rows)

    async def refused(headers: dict[str, str], status: int, problem: str) -> None:
        got = await send(metrics_client, source, batch, headers)
        assert got.status_code == status, got.text
        assert got.headers["content-type"] == "application/problem+json"
        assert got.json()["type"] == f"/problems/{problem}"

    await refused(bearer(Role.SERVICE, "ecommerce-orders"), 403, "forbidden")
    await refused(bearer(Role.TECH, "user-backend"), 403, "forbidden")  # a person, same name
    await refused(bearer(Role.ADMIN, "user-backend"), 403, "forbidden")
    await refused({}, 401, "unauthenticated")
    await refused({"authorization": "Bearer not.a.jwt"}, 401, "unauthenticated")
    await refused({"authorization": "Basic dXNlci1iYWNrZW5kOg=="}, 401, "unauthenticated")
    # A signature alone does not stand in for the token (the source has no secret to check).
    signed_only = await post(metrics_client, source, new_secret(), batch)
    assert signed_only.status_code == 401, signed_only.text
    assert await _scalar(database_url, "SELECT count(*) FROM metrics.deliveries") == 0
    assert (await send(metrics_client, source, batch, USER_BACKEND)).status_code == 200


@SIZES
async def test_a_platform_source_still_wants_its_signature(
    metrics_client: httpx.AsyncClient, database_url: str, rows: int
) -> None:
    source, secret = await register(metrics_client, "meta")
    batch = registrations(rows)
    for token in (USER_BACKEND, bearer(Role.ADMIN, "admin-root")):
        bearer_only = await send(metrics_client, source, batch, token)
        assert bearer_only.status_code == 401, bearer_only.text
        assert bearer_only.json()["type"] == "/problems/invalid-signature"
    assert await _scalar(database_url, "SELECT count(*) FROM metrics.deliveries") == 0
    assert (await post(metrics_client, source, secret, batch)).status_code == 200


async def test_a_service_token_opens_no_other_route(
    metrics_client: httpx.AsyncClient,
    planning_client: httpx.AsyncClient,
    approvals_client: httpx.AsyncClient,
) -> None:
    source = (await register_internal(metrics_client))["id"]
    for client, method, url in (
        (metrics_client, "GET", "/metrics/dictionary"),
        (metrics_client, "GET", "/metrics/sources"),
        (metrics_client, "PUT", f"/metrics/sources/{source}/mappings"),
        (planning_client, "GET", "/planning/plans"),
        (approvals_client, "GET", "/approvals/inbox"),
    ):
        got = await client.request(method, url, headers=USER_BACKEND, json=[])
        assert got.status_code == 403, f"{method} {url}: {got.status_code}"
        assert got.json()["type"] == "/problems/forbidden"


@SIZES
async def test_a_redelivery_gets_the_first_answer_and_a_reused_key_409(
    metrics_client: httpx.AsyncClient, database_url: str, rows: int
) -> None:
    source = (await register_internal(metrics_client))["id"]
    first = registrations(rows)
    stored = await send(metrics_client, source, first, USER_BACKEND, key="ub-1")
    assert stored.status_code == 200, stored.text
    assert stored.json()["inserted"] == rows
    again = await send(metrics_client, source, first, USER_BACKEND, key="ub-1")
    assert (again.status_code, again.json()) == (200, stored.json())
    # webhook-id names the same delivery as Idempotency-Key does.
    as_webhook_id = await metrics_client.post(
        f"/metrics/webhooks/{source}",
        content=json.dumps(first).encode(),
        headers={"content-type": "application/json", "webhook-id": "ub-1", **USER_BACKEND},
    )
    assert as_webhook_id.json() == stored.json()
    other = registrations(rows, "2024-06-09T02:00:00Z")
    reused = await send(metrics_client, source, other, USER_BACKEND, key="ub-1")
    assert reused.status_code == 409
    assert reused.json()["rule"] == "delivery-id"
    # Restatements as for platforms: a later report revises, an older one changes nothing.
    restated = await send(metrics_client, source, other, USER_BACKEND, key="ub-2")
    assert restated.json()["revised"] == rows
    late = await send(
        metrics_client, source, registrations(rows, "2024-06-07T00:00:00Z"), USER_BACKEND
    )
    assert late.json()["ignored_stale"] == rows
    assert await _scalar(database_url, "SELECT count(*) FROM metrics.facts") == rows
    assert await _scalar(database_url, "SELECT count(*) FROM metrics.deliveries") == 3


@SIZES
async def test_a_batch_with_a_bad_row_or_no_delivery_id_stores_nothing(
    metrics_client: httpx.AsyncClient, database_url: str, rows: int
) -> None:
    source = (await register_internal(metrics_client))["id"]
    batch = registrations(rows)
    batch["rows"][-1]["value"] = "-1"
    refused = await send(metrics_client, source, batch, USER_BACKEND)
    assert refused.status_code == 422
    assert "canonical.rows" in refused.json()["errors"][0]["field"]
    keyless = await metrics_client.post(
        f"/metrics/webhooks/{source}",
        content=json.dumps(registrations(rows)).encode(),
        headers={"content-type": "application/json", **USER_BACKEND},
    )
    assert keyless.status_code == 422
    assert keyless.json()["rule"] == "delivery-id"
    assert await _scalar(database_url, "SELECT count(*) FROM metrics.facts") == 0


@SIZES
async def test_a_dropped_connection_then_a_retry_stores_the_batch_once(
    metrics_client: httpx.AsyncClient, database_url: str, rows: int
) -> None:
    source = (await register_internal(metrics_client))["id"]
    batch = registrations(rows)
    maintenance = await asyncpg.connect(_libpq(database_url))
    try:
        locked = maintenance.transaction()
        await locked.start()
        await maintenance.execute("LOCK TABLE metrics.facts IN ACCESS EXCLUSIVE MODE")
        first = asyncio.create_task(
            send(metrics_client, source, batch, USER_BACKEND, key="ub-drop")
        )

        async def waiting() -> bool:
            blocked = await _scalar(
                database_url,
                "SELECT count(*) FROM pg_locks "
                "WHERE NOT granted AND relation = 'metrics.facts'::regclass",
            )
            return bool(blocked)

        await eventually(waiting)
        first.cancel()  # the system's connection drops while the batch waits for the table
        with pytest.raises(asyncio.CancelledError):
            await first
        await locked.rollback()

        retried = await send(metrics_client, source, batch, USER_BACKEND, key="ub-drop")
        assert retried.status_code == 200, retried.text
        assert retried.json()["inserted"] == rows
        again = await send(metrics_client, source, batch, USER_BACKEND, key="ub-drop")
        assert again.json() == retried.json()
        assert await maintenance.fetchval("SELECT count(*) FROM metrics.facts") == rows
        assert await maintenance.fetchval("SELECT count(*) FROM metrics.fact_revisions") == rows
        assert await maintenance.fetchval("SELECT count(*) FROM metrics.deliveries") == 1
    finally:
        await maintenance.close()


@pytest.fixture
async def limited(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The metrics service taking three deliveries a minute per source."""
    strict = settings.model_copy(update={"rate_limit_webhooks": "3/minute"})
    async with one_service("metrics", strict, database_url) as (_app, http):
        yield http


async def test_internal_sources_are_rate_limited_each_on_its_own(
    limited: httpx.AsyncClient,
) -> None:
    busy = (await register_internal(limited))["id"]
    quiet = (await register_internal(limited, "offline", "venue-counter"))["id"]
    answers = [
        (await send(limited, busy, registrations(1), USER_BACKEND)).status_code for _ in range(4)
    ]
    assert answers == [200, 200, 200, 429]
    footfall = canonical("2024-06-11T02:00:00Z", ("venue-1", "2024-06-10", "footfall", "80"))
    other = await send(limited, quiet, footfall, bearer(Role.SERVICE, "venue-counter"))
    assert other.status_code == 200, other.text
