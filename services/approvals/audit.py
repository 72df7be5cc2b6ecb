"""The audit trail: append-only, each entry hashing the one before it, so an edit shows."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from services.approvals.models import AuditEntry
from shared.kit.locks import advisory_key
from shared.kit.pagination import PageWindow, keyset

GENESIS = "0" * 64
_CHAIN_LOCK = advisory_key("approvals:audit-chain")


def entry_hash(
    previous_hash: str,
    request_id: uuid.UUID | None,
    at: datetime,
    actor: str,
    action: str,
    detail: dict[str, Any],
    client_address: str | None,
) -> str:
    """SHA-256 over the previous hash and this entry's canonical JSON."""
    body = json.dumps(
        {
            "previous": previous_hash,
            "request_id": str(request_id) if request_id else None,
            "at": at.astimezone(UTC).isoformat(),
            "actor": actor,
            "action": action,
            "detail": detail,
            "client_address": client_address,
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


PENDING = "approvals.audit.pending"


async def append(
    session: AsyncSession,
    *,
    request_id: uuid.UUID | None,
    actor: str,
    action: str,
    detail: dict[str, Any],
    client_address: str | None = None,
) -> None:
    """Add an entry to the chain when this transaction commits.

    Appends are serialised by a transaction lock on the chain. Taking it here would hold it for
    the rest of the decision (every statement after this one), so all decisions would queue
    behind each other; the entries wait in the session and join the chain just before COMMIT.
    """
    # Microseconds are dropped because the canonical form must survive the database round trip.
    entry = {
        "request_id": request_id,
        "at": datetime.now(UTC).replace(microsecond=0),
        "actor": actor,
        "action": action,
        "detail": json.loads(json.dumps(detail, default=str)),
        "client_address": client_address,
    }
    session.info.setdefault(PENDING, []).append(entry)


@event.listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    """Link the transaction's entries to the end of the chain, under the chain lock."""
    pending: list[dict[str, Any]] | None = session.info.pop(PENDING, None)
    if not pending:
        return
    session.execute(select(func.pg_advisory_xact_lock(_CHAIN_LOCK)))
    previous_hash = (
        session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)) or GENESIS
    )
    for entry in pending:
        row = AuditEntry(
            **entry,
            previous_hash=previous_hash,
            hash=entry_hash(previous_hash, **entry),
        )
        session.add(row)
        previous_hash = row.hash
    session.flush()


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    """What was rolled back never happened: its entries never join the chain."""
    session.info.pop(PENDING, None)


class ChainVerification(BaseModel):
    """The result of re-computing every hash of the trail."""

    intact: bool
    entries_checked: int
    first_broken_entry: int | None = None
    reason: str | None = None


async def verify(session: AsyncSession) -> ChainVerification:
    """Walk the chain from the start; report the first entry whose hash or link does not hold."""
    previous_hash, checked = GENESIS, 0
    rows = await session.stream_scalars(select(AuditEntry).order_by(AuditEntry.id))
    async for entry in rows:
        checked += 1
        if entry.previous_hash != previous_hash:
            return ChainVerification(
                intact=False,
                entries_checked=checked,
                first_broken_entry=entry.id,
                reason="the link to the previous entry is broken (an entry was removed or moved)",
            )
        expected = entry_hash(
            entry.previous_hash,
            entry.request_id,
            entry.at,
            entry.actor,
            entry.action,
            entry.detail,
            entry.client_address,
        )
        if expected != entry.hash:
            return ChainVerification(
                intact=False,
                entries_checked=checked,
                first_broken_entry=entry.id,
                reason="the entry's content no longer matches its hash (it was edited)",
            )
        previous_hash = entry.hash
    return ChainVerification(intact=True, entries_checked=checked)


async def history(
    session: AsyncSession, request_id: uuid.UUID, window: PageWindow
) -> list[AuditEntry]:
    """Up to ``limit + 1`` audit entries of one request after the cursor, in order."""
    query = select(AuditEntry).where(AuditEntry.request_id == request_id)
    return list(await session.scalars(keyset(query, window, AuditEntry.id)))


async def count(session: AsyncSession) -> int:
    """How many entries the trail holds."""
    return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def page(session: AsyncSession, window: PageWindow) -> list[AuditEntry]:
    """Up to ``limit + 1`` entries of the whole trail after the cursor, in chain order."""
    return list(await session.scalars(keyset(select(AuditEntry), window, AuditEntry.id)))
