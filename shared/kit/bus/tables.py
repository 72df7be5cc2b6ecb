"""The outbox, inbox and dead-letter tables, created inside each service's own schema."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB


@dataclass(frozen=True)
class BusTables:
    """The three bus tables of one service."""

    outbox: Table
    inbox: Table
    dead_letters: Table

    @classmethod
    def define(cls, metadata: MetaData) -> BusTables:
        """Add the bus tables to a service's metadata (and so to its migrations)."""
        outbox = Table(
            "outbox",
            metadata,
            Column("id", BigInteger, Identity(), primary_key=True),
            Column("event_id", Uuid, nullable=False, unique=True),
            Column("topic", Text, nullable=False),
            Column("subject", Text, nullable=False),
            Column("event_type", Text, nullable=False),
            Column("envelope", JSONB, nullable=False),
            Column(
                "created_at", DateTime(timezone=True), nullable=False, server_default=func.now()
            ),
            Column("sent_at", DateTime(timezone=True)),
            # The relay claims pending rows by status, so this index holds only what is unsent.
            Index("ix_outbox_pending", "id", postgresql_where=text("sent_at IS NULL")),
        )
        inbox = Table(
            "inbox",
            metadata,
            Column("consumer", Text, nullable=False),
            Column("event_id", Uuid, nullable=False),
            Column("event_type", Text, nullable=False),
            Column("subject", Text, nullable=False),
            Column(
                "processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()
            ),
            PrimaryKeyConstraint("consumer", "event_id"),
        )
        dead_letters = Table(
            "dead_letters",
            metadata,
            Column("id", BigInteger, Identity(), primary_key=True),
            Column("consumer", Text, nullable=False),
            Column("event_id", Uuid),
            Column("event_type", Text),
            Column("subject", Text),
            Column("raw", Text, nullable=False),
            Column("error", Text, nullable=False),
            Column("attempts", Integer, nullable=False),
            Column("status", Text, nullable=False, server_default="parked"),
            Column(
                "created_at", DateTime(timezone=True), nullable=False, server_default=func.now()
            ),
            Column(
                "updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()
            ),
            Index("ix_dead_letters_consumer_subject", "consumer", "subject", "status"),
        )
        return cls(outbox=outbox, inbox=inbox, dead_letters=dead_letters)
