"""Sources, mappings, facts and plan targets built through the metrics service's own functions.

``source`` registers an ad-platform account and hands back its first signing secret, as POST
/metrics/sources does; ``map_entities`` is PUT /metrics/sources/{id}/mappings; ``ingest`` signs
a batch the Standard Webhooks way and stores it through the webhook's own use case (the
signature, the delivery id and the batch are checked as for a platform's POST). ``known`` applies
planning's event (a plan created, its targets set, an objective decomposed) through every metrics
handler of it. One transaction each.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics.facts import ingest as webhook
from services.metrics.facts.signatures import sign
from services.metrics.schemas import MappingIn, SourceCreate
from services.metrics.sources import service as sources
from shared.contract.events.planning import (
    ObjectiveDecomposedV1,
    PlanCreatedV1,
    PlanTargetsSetV1,
)
from tests.harness.factories.events import handled


async def source(
    sessions: async_sessionmaker[AsyncSession], platform: str = "internal", **fields: Any
) -> tuple[uuid.UUID, str]:
    """A new platform source (named after ``platform``; ``fields`` of SourceCreate override):
    its id and its first secret."""
    data = SourceCreate.model_validate(
        {"name": f"{platform} account", "platform": platform, "account_id": "act_1", **fields}
    )
    async with sessions() as session, session.begin():
        created = await sources.create_source(session, data)
    secret = created.secrets[0].secret
    assert secret is not None  # a new platform source shows its first secret, once
    return created.id, secret


async def map_entities(
    sessions: async_sessionmaker[AsyncSession],
    source_id: uuid.UUID,
    plan_id: uuid.UUID,
    *entities: str | tuple[str, uuid.UUID],
) -> None:
    """Count the source's ``entities`` for the plan; an ``(entity, channel_id)`` pair also books
    the entity's facts to that channel."""
    items = [
        MappingIn(entity=e, plan_id=plan_id)
        if isinstance(e, str)
        else MappingIn(entity=e[0], plan_id=plan_id, channel_id=e[1])
        for e in entities
    ]
    async with sessions() as session, session.begin():
        await sources.map_entities(session, source_id, items)


async def ingest(
    sessions: async_sessionmaker[AsyncSession],
    source_id: uuid.UUID,
    secret: str,
    batch: dict[str, Any],
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Store a batch (a webhook body) signed with the source's secret, sent ``now``; the answer
    the webhook would give (rows, facts inserted, revised, ignored as stale)."""
    sent = now or datetime.now(UTC)
    body = json.dumps(batch).encode()
    delivery_id = f"msg_{uuid.uuid4().hex}"
    timestamp = int(sent.timestamp())
    headers: dict[str, str | None] = {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, delivery_id, timestamp, body),
        "authorization": None,
    }
    async with sessions() as session, session.begin():
        return await webhook.ingest(session, source_id, headers, body, sent)


async def known(
    sessions: async_sessionmaker[AsyncSession],
    event: PlanCreatedV1 | PlanTargetsSetV1 | ObjectiveDecomposedV1,
    *,
    time: datetime | None = None,
) -> None:
    """Planning's event as metrics' handlers apply it: a created plan's product is kept; a
    targets_set keeps the plan's version, objectives, channels and budget (and the day it came
    into force, ``time``'s day, else today); an objective_decomposed keeps the target tree."""
    await handled(sessions, "metrics", event, str(event.plan_id), time=time)
