"""Sources: registration, signing secrets, and entity mappings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.facts.signatures import new_secret
from services.metrics.models import Source, idempotency
from services.metrics.schemas import MappingIn, SecretRead, SourceCreate, SourceRead
from services.metrics.sources.repository import SourcesRepository
from shared.kit.errors import NotFound, RuleViolated
from shared.kit.pagination import Page, PageWindow, page_of
from shared.kit.secrets import secret_box


def _source_read(source: Source, reveal: tuple[str, str] | None = None) -> SourceRead:
    """The source as shown; ``reveal`` is a new secret's (id, value), shown this once."""
    return SourceRead(
        id=source.id,
        name=source.name,
        platform=source.platform,
        account_id=source.account_id,
        timezone=source.timezone,
        currency=source.currency,
        settlement_days=source.settlement_days,
        secrets=[
            SecretRead(
                id=s["id"],
                active=s["active"],
                created_at=s["created_at"],
                secret=reveal[1] if reveal and s["id"] == reveal[0] else None,
            )
            for s in source.secrets
        ],
        kind=source.kind,
        system=source.system,
        token_subjects=source.token_subjects,
        meta_action_types=source.meta_action_types,
    )


def _secret() -> tuple[dict[str, Any], tuple[str, str]]:
    """A new secret as stored (sealed), and its (id, value) to show once."""
    value, secret_id = new_secret(), uuid.uuid4().hex[:12]
    stored: dict[str, Any] = {
        "id": secret_id,
        "sealed": secret_box().seal(value),
        "active": True,
        "created_at": datetime.now(UTC).isoformat(),
    }
    return stored, (secret_id, value)


async def create_source_once(
    session: AsyncSession, data: SourceCreate, caller: str, key: str | None
) -> SourceRead:
    """Register a source once per Idempotency-Key; the kept answer shows the secret, so it is
    sealed like the source's own copy."""
    return await idempotency.run(
        session,
        key=key,
        principal=caller,
        scope="POST /metrics/sources",
        request=data,
        produce=lambda: create_source(session, data),
        model=SourceRead,
        sealed=True,
    )


async def create_source(session: AsyncSession, data: SourceCreate) -> SourceRead:
    """Register a source with its first signing secret (shown once); an internal source has
    none: its service token subjects authenticate it."""
    if data.kind == "internal":
        internal = Source(id=uuid.uuid4(), **data.model_dump(), secrets=[])
        await SourcesRepository(session).add(internal)
        return _source_read(internal)
    first, shown = _secret()
    source = Source(id=uuid.uuid4(), **data.model_dump(), secrets=[first])
    await SourcesRepository(session).add(source)
    return _source_read(source, reveal=shown)


async def rotate_secret(
    session: AsyncSession, source_id: uuid.UUID, retire: str | None
) -> SourceRead:
    """Add a secret (old and new both verify meanwhile), or retire one by id."""
    source = await _source(session, source_id)
    if source.kind == "internal":
        raise RuleViolated(
            "an internal source posts with a service token and has no signing secrets",
            field="source_id",
            rule="internal-source-has-no-secrets",
        )
    if retire:
        if retire not in {s["id"] for s in source.secrets}:
            raise NotFound(f"source {source_id} has no secret {retire}")
        source.secrets = [
            {**s, "active": s["active"] and s["id"] != retire} for s in source.secrets
        ]
        await session.flush()
        return _source_read(source)
    added, shown = _secret()
    source.secrets = [*source.secrets, added]
    await session.flush()
    return _source_read(source, reveal=shown)


async def _source(session: AsyncSession, source_id: uuid.UUID) -> Source:
    source = await SourcesRepository(session).source(source_id)
    if source is None:
        raise NotFound(f"no metrics source {source_id}")
    return source


async def list_sources(session: AsyncSession, window: PageWindow) -> Page[SourceRead]:
    """A page of the sources by name (secrets hidden)."""
    rows = await SourcesRepository(session).sources(window)
    return page_of(rows, window, lambda s: (s.name, s.id), _source_read)


async def get_source(session: AsyncSession, source_id: uuid.UUID) -> SourceRead:
    """One source (secrets hidden), or 404."""
    return _source_read(await _source(session, source_id))


async def map_entities(session: AsyncSession, source_id: uuid.UUID, items: list[MappingIn]) -> None:
    """Map platform campaigns to plans and channels; facts already stored move with them."""
    await _source(session, source_id)
    repo = SourcesRepository(session)
    for item in items:
        await repo.upsert_mapping(source_id, item.entity, item.plan_id, item.channel_id)
        await repo.move_entity(source_id, item.entity, item.plan_id, item.channel_id)
