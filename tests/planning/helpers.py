"""Driving a plan through the API, and delivering other services' events to it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from services.planning.schemas import PlanDetail
from shared.contract.envelope import Envelope, EventPayload
from shared.contract.events.approvals import ApprovalApprovedV1, ApprovalRejectedV1, RequestKind
from shared.contract.types import Role
from shared.kit.bus.embedded import EmbeddedTransport
from shared.kit.bus.transport import Message
from shared.kit.db import create_engine
from tests.conftest import bearer
from tests.planning import seed

SPECIALIST = bearer(Role.SPECIALIST, "specialist-amy")


async def put(
    client: httpx.AsyncClient, plan: dict[str, Any], section: str, body: Any
) -> dict[str, Any]:
    """Replace a section with If-Match on the plan's current version; return the new detail."""
    response = await client.put(
        f"/planning/plans/{plan['plan']['id']}/{section}",
        json=body,
        headers={**SPECIALIST, "If-Match": f'"{plan["plan"]["revision"]}"'},
    )
    assert response.status_code == 200, response.text
    detail: dict[str, Any] = response.json()
    return detail


def as_json(detail: PlanDetail) -> dict[str, Any]:
    """A plan built by tests/harness/factories/planning.py as GET /planning/plans/{id} shows it."""
    return detail.model_dump(mode="json")


async def seeded_plan(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    """A draft plan holding every docs/domain.md table of sections 1, 2 and 4."""
    created = await client.post(
        "/planning/plans", json={**seed.PLAN, **overrides}, headers=SPECIALIST
    )
    assert created.status_code == 201, created.text
    plan: dict[str, Any] = created.json()
    plan = await put(client, plan, "objectives", seed.OBJECTIVES)
    plan = await put(client, plan, "audience", seed.AUDIENCE)
    plan = await put(client, plan, "channels", seed.CHANNELS)
    plan = await put(client, plan, "phases", seed.PHASES)
    plan = await put(client, plan, "budget", seed.budget([c["id"] for c in plan["channels"]]))
    return await put(client, plan, "risks", seed.RISKS)


async def publish(
    database_url: str,
    payload: EventPayload,
    subject: str,
    *,
    times: int = 1,
    time: datetime | None = None,
) -> Envelope:
    """Put another service's event on the embedded bus (``times`` deliveries of one envelope,
    sent at ``time``, else now)."""
    envelope = Envelope.wrap(
        payload, source=payload.event_type.split(".")[0], subject=subject, time=time
    )
    engine = create_engine(database_url)
    try:
        message = Message(payload.topic_name(), subject, envelope.model_dump_json().encode())
        await EmbeddedTransport(engine).publisher().publish([message] * times)
    finally:
        await engine.dispose()
    return envelope


def approval(
    kind: RequestKind,
    reference_id: str,
    *,
    approved: bool = True,
    plan_id: str | None = None,
    **extra: Any,
) -> ApprovalApprovedV1 | ApprovalRejectedV1:
    """The approvals service's outcome for one request."""
    common: dict[str, Any] = {
        "request_id": uuid.uuid4(),
        "kind": kind,
        "reference_id": uuid.UUID(reference_id),
        "plan_id": uuid.UUID(plan_id or reference_id),
        "decided_by": "finance-zhao",
        "decided_at": datetime.now(UTC),
        **extra,
    }
    if approved:
        return ApprovalApprovedV1(**common)
    return ApprovalRejectedV1(reason="budget not reasonable", **common)


def money(value: str | Decimal) -> Decimal:
    """Compare amounts by value, whatever their scale."""
    return Decimal(value)


async def recorded(database_url: str, event_type: str) -> list[dict[str, Any]]:
    """The envelopes planning recorded of one type, oldest first."""
    from sqlalchemy import select

    from services.planning.models import bus

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(bus.outbox.c.envelope)
                .where(bus.outbox.c.event_type == event_type)
                .order_by(bus.outbox.c.id)
            )
            return [row.envelope for row in rows]
    finally:
        await engine.dispose()
