"""Idempotency-Key for creates, the way Stripe does it: same key and body → same answer.

The key is claimed in the request's own transaction, so a failed request leaves no key behind.
A retry while the first request is still running gets 409 (retry later); after it committed, the
stored answer. Reusing a key for another body is 422. Keys expire after 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Header
from pydantic import BaseModel
from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.kit.errors import Conflict, RuleViolated
from shared.kit.locks import advisory_key
from shared.kit.secrets import secret_box

R = TypeVar("R", bound=BaseModel)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="a retry with the same key and body returns the first answer, once",
    ),
]


KEY_LIFETIME = timedelta(hours=24)


class IdempotencyKeyReused(RuleViolated):
    """The key was already used for a different request."""

    slug, title = "idempotency-key-reused", "Idempotency-Key reused"


class IdempotencyKeyInFlight(Conflict):
    """A request with this key is still being processed."""

    slug, title = "idempotency-key-in-flight", "Request with this Idempotency-Key in progress"


def fingerprint(scope: str, body: Any) -> str:
    """A stable hash of what was asked, to tell a true retry from a reused key."""
    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    canonical = json.dumps([scope, data], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyKeys:
    """A service's table of used keys and the answers they produced."""

    def __init__(self, table: Table) -> None:
        self.table = table

    @classmethod
    def define(cls, metadata: MetaData) -> IdempotencyKeys:
        """Add the ``idempotency_keys`` table to a service's metadata (and migrations)."""
        table = Table(
            "idempotency_keys",
            metadata,
            Column("principal", Text, nullable=False),
            Column("key", Text, nullable=False),
            Column("request_hash", Text, nullable=False),
            Column("response", JSONB),
            Column(
                "created_at", DateTime(timezone=True), nullable=False, server_default=func.now()
            ),
            PrimaryKeyConstraint("principal", "key"),
        )
        return cls(table)

    async def run(
        self,
        session: AsyncSession,
        *,
        key: str | None,
        principal: str,
        scope: str,
        request: Any,
        produce: Callable[[], Awaitable[R]],
        model: type[R],
        sealed: bool = False,
    ) -> R:
        """Run ``produce`` once per (principal, key); a retry gets the stored answer.

        ``sealed`` keeps the stored answer encrypted, for answers that show a secret once."""
        if key is None:
            return await produce()
        request_hash = fingerprint(scope, request)
        # Held until this transaction ends: a concurrent retry sees the key busy, not a stale row.
        locked = await session.scalar(
            select(
                func.pg_try_advisory_xact_lock(
                    advisory_key(f"idem:{self.table.schema}:{principal}:{key}")
                )
            )
        )
        if not locked:
            raise IdempotencyKeyInFlight(
                f"a request with Idempotency-Key {key!r} is still in progress; retry later",
                field="Idempotency-Key",
                rule="idempotency-key-in-flight",
            )
        where = (self.table.c.principal == principal, self.table.c.key == key)
        row = (
            await session.execute(
                select(
                    self.table.c.request_hash,
                    self.table.c.response,
                    (self.table.c.created_at > func.now() - KEY_LIFETIME).label("live"),
                ).where(*where)
            )
        ).one_or_none()
        if row is not None and row.live:
            if row.request_hash != request_hash or row.response is None:
                raise IdempotencyKeyReused(
                    f"Idempotency-Key {key!r} was already used for a different request",
                    field="Idempotency-Key",
                    rule="idempotency-key-reuse",
                )
            return model.model_validate(_unpacked(row.response))
        await session.execute(
            insert(self.table)
            .values(principal=principal, key=key, request_hash=request_hash)
            .on_conflict_do_update(
                index_elements=[self.table.c.principal, self.table.c.key],
                set_={"request_hash": request_hash, "response": None, "created_at": func.now()},
            )
        )
        result = await produce()
        await session.execute(
            update(self.table).where(*where).values(response=_packed(result, sealed=sealed))
        )
        return result


def _packed(result: BaseModel, *, sealed: bool) -> Any:
    if not sealed:
        return result.model_dump(mode="json")
    return {"sealed": secret_box().seal(result.model_dump_json())}


def _unpacked(stored: Any) -> Any:
    if isinstance(stored, dict) and set(stored) == {"sealed"}:
        return json.loads(secret_box().open(stored["sealed"]))
    return stored
