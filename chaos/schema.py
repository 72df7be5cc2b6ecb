"""The harness's own schema: a bus (outbox, inbox, dead letters) and the effects it checks."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Identity, Integer, MetaData, Table, Text, Uuid

SCHEMA = "chaos"
TOPIC_PREFIX = "chaos."
GROUP = "chaos.effects"

metadata = MetaData(schema=SCHEMA)

# Imported late so the harness's tables and the kit's share one metadata.
from shared.kit.bus.tables import BusTables  # noqa: E402

bus = BusTables.define(metadata)

# No unique key on purpose: a duplicate effect must be countable, not masked by a constraint.
effects = Table(
    "effects",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("subject", Text, nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("event_id", Uuid, nullable=False),
)

order_violations = Table(
    "order_violations",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("subject", Text, nullable=False),
    Column("expected", Integer, nullable=False),
    Column("got", Integer, nullable=False),
)
