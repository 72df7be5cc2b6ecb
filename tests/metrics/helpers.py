"""Registering a source and posting signed batches to it, as an ad platform does; and the plan
targets planning announces, so metrics has a plan to count the facts for."""

from __future__ import annotations

import json
import time
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics.facts.signatures import sign
from services.metrics.rollups.snapshots import JOBS
from shared.contract.events.planning import (
    ChannelTarget,
    ObjectiveDecomposedV1,
    ObjectiveTarget,
    PlanTargetsSetV1,
)
from shared.contract.types import ChannelType, Money, ObjectiveType, Role, TargetKind
from shared.kit.db import create_sessionmaker
from shared.kit.settings import BusKind, Settings
from tests.conftest import bearer
from tests.harness.delivery import deliver, service_runtime

TECH = bearer(Role.TECH, "data-ops")
MANAGER = bearer(Role.MANAGER, "manager-li")


async def register(client: httpx.AsyncClient, platform: str = "internal") -> tuple[str, str]:
    """A new source's id and its first secret."""
    created = await client.post(
        "/metrics/sources",
        json={"name": f"{platform} account", "platform": platform, "account_id": "act_1"},
        headers=TECH,
    )
    assert created.status_code == 201, created.text
    source = created.json()
    return source["id"], source["secrets"][0]["secret"]


async def post(
    client: httpx.AsyncClient,
    source_id: str,
    secret: str,
    payload: dict[str, Any] | bytes,
    *,
    delivery_id: str | None = None,
    sent_at: int | None = None,
    tamper: bool = False,
) -> httpx.Response:
    """POST a batch signed the Standard Webhooks way."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    delivery_id = delivery_id or f"msg_{uuid.uuid4().hex}"
    sent_at = sent_at if sent_at is not None else int(time.time())
    signature = sign(secret, delivery_id, sent_at, body)
    return await client.post(
        f"/metrics/webhooks/{source_id}",
        content=body + (b" " if tamper else b""),
        headers={
            "content-type": "application/json",
            "webhook-id": delivery_id,
            "webhook-timestamp": str(sent_at),
            "webhook-signature": signature,
        },
    )


def canonical(report_time: str, *rows: tuple[str, str, str, str]) -> dict[str, Any]:
    """A batch in the canonical format: (entity, day, metric, value) rows."""
    return {
        "format": "canonical",
        "report_time": report_time,
        "rows": [{"entity": e, "day": d, "metric": m, "value": v} for e, d, m, v in rows],
    }


async def map_entities(
    client: httpx.AsyncClient,
    source_id: str,
    plan_id: uuid.UUID,
    *entities: str | tuple[str, uuid.UUID],
) -> None:
    """Count the source's ``entities`` for the plan; an ``(entity, channel_id)`` pair also books
    the entity's facts to that channel."""
    rows = []
    for entity in entities:
        name, channel_id = entity if isinstance(entity, tuple) else (entity, None)
        row = {"entity": name, "plan_id": str(plan_id)}
        rows.append(row if channel_id is None else {**row, "channel_id": str(channel_id)})
    mapped = await client.put(f"/metrics/sources/{source_id}/mappings", json=rows, headers=TECH)
    assert mapped.status_code == 204, mapped.text


# --- what planning announces ------------------------------------------------------------------


def objective(metric: str, target: Decimal | int | str, **overrides: Any) -> ObjectiveTarget:
    """A user-growth objective to reach ``target`` of ``metric`` by the end of June, owned by the
    manager; ``overrides`` change any other field (type, target_kind, baseline_value, due_on...)."""
    fields: dict[str, Any] = {
        "objective_id": uuid.uuid4(),
        "type": ObjectiveType.USER_GROWTH,
        "metric": metric,
        "target_kind": TargetKind.ABSOLUTE,
        "target_value": Decimal(target),
        "owner_id": "manager-li",
        "due_on": date(2024, 6, 30),
    }
    return ObjectiveTarget(**(fields | overrides))


def channel(channel_id: uuid.UUID, name: str, budget: Decimal | int = 1000) -> ChannelTarget:
    """An in-feed channel of the plan's mix."""
    return ChannelTarget(
        channel_id=channel_id,
        channel_type=ChannelType.IN_FEED,
        name=name,
        planned_budget=Money(amount=Decimal(budget)),
    )


def plan_targets(
    plan_id: uuid.UUID, *objectives: ObjectiveTarget, **overrides: Any
) -> PlanTargetsSetV1:
    """Version 1 of a CNY plan for June with no channels; ``overrides`` change any field."""
    fields: dict[str, Any] = {
        "plan_id": plan_id,
        "version": 1,
        "name": "June plan",
        "owner_id": "manager-li",
        "starts_on": date(2024, 6, 1),
        "ends_on": date(2024, 6, 30),
        "currency": "CNY",
        "objectives": list(objectives),
        "channels": [],
    }
    return PlanTargetsSetV1(**(fields | overrides))


async def announce(
    client: httpx.AsyncClient,
    database_url: str,
    event: PlanTargetsSetV1 | ObjectiveDecomposedV1,
    *,
    times: int = 1,
) -> None:
    """Deliver planning's event to metrics' inbox (``times`` deliveries of one envelope), as its
    consumer would, and check metrics answers for it: the plan's KPIs for its targets, the
    objective's decomposition for its tree."""
    settings = Settings(database_url=database_url, bus=BusKind.EMBEDDED, migrate_on_start=False)
    async with service_runtime("metrics", settings, database_url) as metrics:
        await deliver(metrics, event, str(event.plan_id), times=times)
    plan = f"/metrics/plans/{event.plan_id}"
    url = (
        f"{plan}/kpis"
        if isinstance(event, PlanTargetsSetV1)
        else f"{plan}/objectives/{event.objective_id}/decomposition"
    )
    known = await client.get(url, headers=MANAGER)
    assert known.status_code == 200, known.text


async def run_snapshots(engine: AsyncEngine, settings: Settings, now: datetime) -> None:
    """One pass of the rollup/KPI snapshot job, as the scheduler would run it at ``now``."""
    (snapshots,) = JOBS
    await snapshots.run_once(create_sessionmaker(engine), settings, now)
