"""Drive the relay and consumer processes through kills and check what arrived.

Events are recorded into the outbox while a relay process publishes them to the embedded log
(PostgreSQL, written on its own connection, so publishing and marking sent are separate
commits) and a consumer process applies them through the inbox. Both processes die at armed
fault points and at random moments, and are restarted at once. At the end the effects are
compared with what was recorded.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import asyncpg
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from chaos.schema import SCHEMA, bus, effects, metadata, order_violations
from shared.contract.events.planning import PlanCreatedV1
from shared.kit.bus.embedded import EmbeddedTransport
from shared.kit.bus.outbox import Outbox
from shared.kit.db import create_engine, create_sessionmaker
from shared.kit.faults import (
    CONSUMER_AFTER_EFFECT,
    CONSUMER_MID_BATCH,
    RELAY_AFTER_MARK,
    RELAY_AFTER_PUBLISH,
)

FAULT_POINTS = (RELAY_AFTER_PUBLISH, RELAY_AFTER_MARK, CONSUMER_AFTER_EFFECT, CONSUMER_MID_BATCH)
RANDOM_KILL = "random"


@dataclass
class Report:
    """What a run found."""

    seed: int
    events: int
    applied: int = 0
    lost: int = 0
    duplicate_effects: int = 0
    order_violations: int = 0
    duplicates_delivered: int = 0
    kills: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    finished: bool = False

    @property
    def total_kills(self) -> int:
        """Kills of either process, at fault points or at random."""
        return sum(self.kills.values())

    def table(self) -> str:
        """The figures as the closing note quotes them."""
        rows = [
            ("events sent", self.events),
            ("events applied", self.applied),
            ("lost events (must be 0)", self.lost),
            ("duplicate effects (must be 0)", self.duplicate_effects),
            ("per-subject order violations (must be 0)", self.order_violations),
            ("duplicates delivered (expected > 0)", self.duplicates_delivered),
            *((f"kills at {point}", n) for point, n in sorted(self.kills.items())),
            ("kills in all", self.total_kills),
            ("seconds", round(self.seconds, 1)),
            ("seed", self.seed),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def _libpq(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _fresh_database(server_url: str) -> str:
    name = f"chaos_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(_libpq(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return _libpq(server_url, name)


async def _drop_database(server_url: str, url: str) -> None:
    admin = await asyncpg.connect(_libpq(server_url))
    try:
        name = make_url(url).database
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


class Supervisor:
    """Keeps one worker process running, restarting it whenever it dies."""

    def __init__(self, role: str, env: dict[str, str]) -> None:
        self.role = role
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0

    async def ensure_running(self) -> None:
        """Start the worker if it is not running (first start, or after a kill)."""
        if self.process is not None and self.process.returncode is None:
            return
        if self.process is not None:
            self.restarts += 1
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chaos.worker",
            self.role,
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def poll(self) -> None:
        """Notice a death without blocking."""
        if self.process is not None and self.process.returncode is None:
            try:
                await asyncio.wait_for(self.process.wait(), timeout=0.001)
            except TimeoutError:
                return

    def kill(self) -> bool:
        """SIGKILL the worker now; True when one was running."""
        if self.process is None or self.process.returncode is not None:
            return False
        self.process.send_signal(signal.SIGKILL)
        return True

    async def stop(self) -> None:
        """Kill and reap."""
        if self.kill() and self.process is not None:
            await self.process.wait()


OUTBOX = Outbox(bus.outbox, source="chaos")


def _event(subject: str, seq: int) -> PlanCreatedV1:
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


async def _produce(engine: AsyncEngine, rounds: range, subjects: int, batch: int = 25) -> None:
    """Record one event per subject per round, ``batch`` events per transaction."""
    pairs = [(f"s{subject}", seq) for seq in rounds for subject in range(subjects)]
    sessions = create_sessionmaker(engine)
    for start in range(0, len(pairs), batch):
        async with sessions() as session, session.begin():
            for subject, seq in pairs[start : start + batch]:
                await OUTBOX.record(session, _event(subject, seq), subject=subject)


async def _count(engine: AsyncEngine) -> tuple[int, int, int, int]:
    async with engine.connect() as conn:
        total = int(await conn.scalar(select(func.count()).select_from(effects)) or 0)
        distinct = int(
            await conn.scalar(
                select(func.count()).select_from(
                    select(effects.c.subject, effects.c.seq).distinct().subquery()
                )
            )
            or 0
        )
        violations = int(await conn.scalar(select(func.count()).select_from(order_violations)) or 0)
        pending = int(
            await conn.scalar(
                select(func.count()).select_from(bus.outbox).where(bus.outbox.c.sent_at.is_(None))
            )
            or 0
        )
    return total, distinct, violations, pending


async def run(
    *,
    server_url: str,
    events: int = 10_000,
    subjects: int = 50,
    probability: float = 0.05,
    random_kill_mean_seconds: float = 2.0,
    min_kills: int = 100,
    seed: int | None = None,
    timeout_seconds: float = 900.0,
    quiet_seconds: float = 20.0,
) -> Report:
    """One run: produce ``events`` while both workers are killed, then check the effects."""
    seed = seed if seed is not None else random.randrange(2**31)  # noqa: S311
    dice = random.Random(seed)  # noqa: S311 — chaos, not crypto
    report = Report(seed=seed, events=events)
    url = await _fresh_database(server_url)
    engine = create_engine(url)
    workdir = Path(tempfile.mkdtemp(prefix="chaos-"))
    fault_log, delivery_log = workdir / "faults.log", workdir / "deliveries.log"
    supervisors: list[Supervisor] = []
    started = time.monotonic()
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
            await conn.run_sync(metadata.create_all)
        await EmbeddedTransport(engine).ensure_schema()
        base_env = {
            **os.environ,
            "CHAOS_DATABASE_URL": url,
            # Mid-batch runs once per record, the others once per batch: scale it down.
            "FAULT_POINTS": ",".join(
                f"{point}:{probability / 20 if point == CONSUMER_MID_BATCH else probability}"
                for point in FAULT_POINTS
            ),
            "FAULT_LOG": str(fault_log),
            "DELIVERY_LOG": str(delivery_log),
        }
        supervisors = [
            Supervisor(role, {**base_env, "FAULT_SEED": f"{seed}-{role}-{n}"})
            for n, role in enumerate(("relay", "consumer"))
        ]
        rounds = -(-events // subjects)
        report.events = rounds * subjects
        producer = asyncio.create_task(_produce(engine, range(1, rounds + 1), subjects))
        random_kills = 0
        next_random_kill = time.monotonic() + dice.expovariate(1 / random_kill_mean_seconds)
        deadline = started + timeout_seconds
        next_progress = started + 10
        last_distinct, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            for supervisor in supervisors:
                # A fresh seed per start, so a restarted worker does not replay the same dice.
                supervisor.env["FAULT_SEED"] = f"{seed}-{supervisor.role}-{supervisor.restarts}"
                await supervisor.poll()
                await supervisor.ensure_running()
            kills_so_far = random_kills + _lines(fault_log)
            if time.monotonic() >= next_random_kill:
                if dice.choice(supervisors).kill():
                    random_kills += 1
                next_random_kill = time.monotonic() + dice.expovariate(1 / random_kill_mean_seconds)
            if time.monotonic() >= next_progress:
                next_progress = time.monotonic() + 10
                applied = (await _count(engine))[1]
                print(
                    f"chaos: {applied}/{report.events} applied, {kills_so_far} kills",
                    file=sys.stderr,
                )
            if producer.done():
                producer.result()
                _total, distinct, _violations, pending = await _count(engine)
                if distinct != last_distinct:
                    last_distinct, last_change = distinct, time.monotonic()
                elif pending == 0 and time.monotonic() - last_change > quiet_seconds:
                    break  # all published, nothing applied for a while: the rest is lost
                if distinct >= report.events and pending == 0:
                    if kills_so_far >= min_kills:
                        report.finished = True
                        break
                    # Everything arrived before enough kills: keep the workers under fire
                    # with another round per subject until the kill count reaches its floor.
                    rounds += 1
                    report.events += subjects
                    producer = asyncio.create_task(
                        _produce(engine, range(rounds, rounds + 1), subjects)
                    )
            await asyncio.sleep(0.05)
        for supervisor in supervisors:
            await supervisor.stop()
        total, distinct, violations, _pending = await _count(engine)
        report.applied = distinct
        report.lost = report.events - distinct
        report.duplicate_effects = total - distinct
        report.order_violations = violations
        report.duplicates_delivered = _lines(delivery_log)
        report.kills = _kills_by_point(fault_log)
        report.kills[RANDOM_KILL] = random_kills
    finally:
        for supervisor in supervisors:
            await supervisor.stop()
        report.seconds = time.monotonic() - started
        await engine.dispose()
        await _drop_database(server_url, url)
    return report


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _kills_by_point(path: Path) -> dict[str, int]:
    counts = dict.fromkeys(FAULT_POINTS, 0)
    if path.exists():
        for line in path.read_text().splitlines():
            counts[line] = counts.get(line, 0) + 1
    return counts
