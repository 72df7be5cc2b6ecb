"""After a scripted scenario, /metrics shows HTTP, outbox, dead letters."""

from __future__ import annotations

import re
import uuid

import httpx
from prometheus_client import generate_latest
from sqlalchemy import insert, text

from services.planning.app import DEFINITION as PLANNING
from services.planning.models import bus as planning_bus
from services.tasks.models import bus as tasks_bus
from shared.contract.types import Role
from shared.kit.db import create_engine
from shared.kit.runtime import ServiceRuntime
from shared.kit.settings import Settings
from tests.conftest import bearer
from tests.polling import eventually

PLAN = {"name": "618", "product": "serum", "starts_on": "2024-05-01", "ends_on": "2024-06-30"}


def _sample(body: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text format, or None when absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in body.splitlines():
        match = re.match(rf"^{re.escape(name)}\{{(.*)\}} (\S+)$", line)
        if match and all(part in match.group(1).split(",") for part in wanted.split(",")):
            return float(match.group(2))
    return None


async def test_metrics_show_requests_outbox_backlog_publishing_and_dead_letters(
    client: httpx.AsyncClient, database_url: str
) -> None:
    created = await client.post("/planning/plans", json=PLAN, headers=bearer(Role.SPECIALIST))
    assert created.status_code == 201
    await client.get(f"/planning/plans/{uuid.uuid4()}", headers=bearer(Role.SPECIALIST))

    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(
            insert(tasks_bus.dead_letters).values(
                consumer="tasks.on_plan_created", raw="{}", error="poison", attempts=5
            )
        )
    await engine.dispose()

    async def scraped() -> str | None:
        body = (await client.get("/metrics")).text
        published = _sample(body, "outbox_published_total", service="planning")
        drained = _sample(body, "outbox_pending", service="planning") == 0
        return body if published and published >= 1 and drained else None

    body = await eventually(scraped)
    route = "/plans"  # the route template, without the service prefix
    assert _sample(
        body, "http_requests_total", service="planning", method="POST", route=route, status="201"
    )
    assert _sample(
        body,
        "http_requests_total",
        service="planning",
        method="GET",
        route="/plans/{plan_id}",
        status="404",
    )
    assert _sample(body, "http_request_duration_seconds_count", service="planning", method="POST")
    assert _sample(body, "outbox_oldest_pending_age_seconds", service="planning") == 0
    assert "# TYPE relay_failures_total counter" in body
    assert _sample(body, "dead_letters_parked", consumer="tasks.on_plan_created") == 1


async def test_the_backlog_gauges_show_an_event_stuck_in_the_outbox(
    database_url: str, settings: Settings
) -> None:
    runtime = ServiceRuntime(PLANNING, settings, database_url)  # not started: nothing publishes
    async with runtime.engine.begin() as conn:
        await conn.execute(
            insert(planning_bus.outbox).values(
                event_id=uuid.uuid4(),
                topic="planning.plan",
                subject="p-1",
                event_type="planning.plan.created",
                envelope={},
                created_at=text("now() - interval '90 seconds'"),
            )
        )
    await runtime.observe()
    await runtime.engine.dispose()
    body = generate_latest().decode()
    assert _sample(body, "outbox_pending", service="planning") == 1
    assert (_sample(body, "outbox_oldest_pending_age_seconds", service="planning") or 0) >= 90


async def test_metrics_show_webhook_rows_and_alerts_firing(client: httpx.AsyncClient) -> None:
    from tests.metrics.helpers import canonical, post, register

    source, secret = await register(client)
    good = canonical(
        "2024-06-08T09:00:00Z",
        ("c1", "2024-06-07", "clicks", "1"),
        ("c1", "2024-06-07", "impressions", "9"),
    )
    assert (await post(client, source, secret, good)).status_code == 200
    bad = canonical("2024-06-08T09:00:00Z", ("c1", "2024-06-07", "clicks", "1"))
    bad["rows"][0]["value"] = "-1"
    assert (await post(client, source, secret, bad)).status_code == 422
    body = (await client.get("/metrics")).text
    assert (_sample(body, "webhook_rows_total", outcome="accepted") or 0) >= 2
    assert (_sample(body, "webhook_rows_total", outcome="rejected") or 0) >= 1
    assert _sample(body, "alerts_firing", severity="critical") == 0
