"""The run's database: made afresh and dropped for each run, filled with events through the
outbox, and counted (recorded, sent, applied, out of order, dead-lettered) as the run goes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from chaos.schema import bus, effects, order_violations
from shared.contract.events.planning import PlanCreatedV1
from shared.kit.bus.outbox import Outbox
from shared.kit.db import create_sessionmaker

OUTBOX = Outbox(bus.outbox, source="chaos")


def libpq(url: str, database: str | None = None) -> str:
    """A libpq URL for asyncpg, on the same server (another database when given)."""
    parsed = make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def fresh_database(server_url: str) -> str:
    """A new empty database for one run; returns its URL."""
    name = f"chaos_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(libpq(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return libpq(server_url, name)


async def drop_database(server_url: str, url: str) -> None:
    """Drop the run's database, whoever is still connected."""
    admin = await asyncpg.connect(libpq(server_url))
    try:
        name = make_url(url).database
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@dataclass(frozen=True)
class Counts:
    """What the database holds at one moment."""

    recorded: int
    sent: int
    effects: int
    applied: int  # distinct (subject, seq) pairs
    violations: int
    dead_letters: int

    @property
    def pending(self) -> int:
        """Recorded but not yet marked sent."""
        return self.recorded - self.sent

    def progress(self, role: str) -> int:
        """A figure that grows while the role's process does its work."""
        return self.sent if role == "relay" else self.effects


async def count(engine: AsyncEngine) -> Counts:
    """What the database holds now."""

    def number(value: int | None) -> int:
        return int(value or 0)

    async with engine.connect() as conn:
        distinct = select(effects.c.subject, effects.c.seq).distinct().subquery()
        outbox = bus.outbox
        return Counts(
            recorded=number(await conn.scalar(select(func.count()).select_from(outbox))),
            sent=number(
                await conn.scalar(
                    select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_not(None))
                )
            ),
            effects=number(await conn.scalar(select(func.count()).select_from(effects))),
            applied=number(await conn.scalar(select(func.count()).select_from(distinct))),
            violations=number(
                await conn.scalar(select(func.count()).select_from(order_violations))
            ),
            dead_letters=number(
                await conn.scalar(select(func.count()).select_from(bus.dead_letters))
            ),
        )


def event(subject: str, seq: int) -> PlanCreatedV1:
    """The ``seq``-th event of a subject; the consumer reads both back from the name."""
    return PlanCreatedV1(
        plan_id=uuid.uuid5(uuid.NAMESPACE_URL, subject),
        name=f"{subject}#{seq}",
        product="chaos",
        owner_id="chaos",
        starts_on=date(2024, 5, 1),
        ends_on=date(2024, 6, 30),
        currency="CNY",
    )


async def record_round(engine: AsyncEngine, seq: int, subjects: int, batch: int = 25) -> None:
    """Record the ``seq``-th event of every subject, ``batch`` events per transaction."""
    names = [f"s{subject}" for subject in range(subjects)]
    sessions = create_sessionmaker(engine)
    for start in range(0, len(names), batch):
        async with sessions() as session, session.begin():
            for subject in names[start : start + batch]:
                await OUTBOX.record(session, event(subject, seq), subject=subject)
