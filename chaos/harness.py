"""Drive the relay and consumer processes through kills, let them heal, then check.

Events are recorded into the outbox while a relay process publishes them to the bus (the
embedded log or Kafka) and a consumer process applies them through the inbox. As Jepsen does,
a run has three parts:

1. **Fault phase.** Events are recorded (at most ``window`` ahead of what was applied, so they
   flow under fire rather than pile up) while both processes die at armed fault points and are
   SIGKILLed at random moments, and are restarted at once. A random kill only hits a process
   that has done some work since it started, so however slow the machine, the kills cannot
   outpace the restarts. It ends once every event is recorded and the kills reach their floor.
2. **Heal phase.** No more kills: both processes are restarted with the fault points disarmed
   and run until the outbox is empty and the consumer group has committed the whole log, for
   as long as anything still moves (a stall window, not a fixed total).
3. **Check.** Lost means recorded in the outbox and never applied after healing; events applied
   only while healing are reported apart, as late then delivered.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from chaos import store
from chaos.buses import EmbeddedBus, HarnessBus, KafkaBus, KafkaTarget
from chaos.report import DEADLINE, DRAINED, STALLED, Report
from chaos.schema import SCHEMA, metadata
from chaos.supervisor import Supervisor
from shared.kit.db import create_engine
from shared.kit.faults import (
    CONSUMER_AFTER_EFFECT,
    CONSUMER_MID_BATCH,
    RELAY_AFTER_MARK,
    RELAY_AFTER_PUBLISH,
)

FAULT_POINTS = (RELAY_AFTER_PUBLISH, RELAY_AFTER_MARK, CONSUMER_AFTER_EFFECT, CONSUMER_MID_BATCH)
RANDOM_KILL = "random"


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _kills_by_point(path: Path, points: tuple[str, ...]) -> dict[str, int]:
    counts = dict.fromkeys(points, 0)
    if path.exists():
        for line in path.read_text().splitlines():
            counts[line] = counts.get(line, 0) + 1
    return counts


@dataclass(frozen=True)
class Plan:
    """How hard and how long one run pushes."""

    events: int = 10_000
    subjects: int = 50
    window: int = 1_000
    probability: float = 0.05
    fault_points: tuple[str, ...] = FAULT_POINTS
    random_kill_mean_seconds: float = 5.0
    min_kills: int = 100
    fault_timeout_seconds: float = 3_600.0
    stall_seconds: float = 300.0
    heal_timeout_seconds: float = 3_600.0


class _Run:
    """One run's state across its three phases."""

    def __init__(self, plan: Plan, seed: int, engine: AsyncEngine, harness_bus: HarnessBus) -> None:
        self.plan = plan
        self.seed = seed
        self.dice = random.Random(seed)  # noqa: S311 — chaos, not crypto
        self.engine = engine
        self.bus = harness_bus
        self.workdir = Path(tempfile.mkdtemp(prefix=f"chaos-{harness_bus.name}-"))
        self.fault_log = self.workdir / "faults.log"
        self.delivery_log = self.workdir / "deliveries.log"
        self.report = Report(bus=harness_bus.name, seed=seed, min_kills=plan.min_kills)
        self.random_kills = 0
        self.counts = store.Counts(0, 0, 0, 0, 0, 0)
        self.supervisors: list[Supervisor] = []

    def _armed(self) -> str:
        # Mid-batch runs once per record, the others once per batch: scale it down.
        chance = self.plan.probability
        return ",".join(
            f"{point}:{chance / 20 if point == CONSUMER_MID_BATCH else chance}"
            for point in self.plan.fault_points
        )

    async def start_workers(self, url: str) -> None:
        env = {
            **os.environ,
            **self.bus.worker_env(),
            "CHAOS_DATABASE_URL": url,
            "FAULT_POINTS": self._armed(),
            "FAULT_LOG": str(self.fault_log),
            "DELIVERY_LOG": str(self.delivery_log),
        }
        self.supervisors = [
            Supervisor(role, dict(env), self.workdir / f"{role}.log")
            for role in ("relay", "consumer")
        ]
        await self.supervise()

    async def supervise(self) -> None:
        for supervisor in self.supervisors:
            await supervisor.ensure_running(self.seed, self.counts.progress(supervisor.role))

    def kills(self) -> int:
        return self.random_kills + _lines(self.fault_log)

    def _say(self, phase: str, extra: str = "") -> None:
        print(
            f"chaos[{self.bus.name}] {phase}: {self.counts.applied}/{self.counts.recorded} applied,"
            f" {self.counts.pending} unsent, {self.kills()} kills{extra}",
            file=sys.stderr,
        )

    async def fault_phase(self) -> None:
        plan, loop = self.plan, asyncio.get_running_loop()
        started = loop.time()
        rounds, base_rounds = 0, -(-plan.events // plan.subjects)
        next_count = next_say = started
        while loop.time() < started + plan.fault_timeout_seconds:
            await self.supervise()
            now = loop.time()
            if now >= next_count:
                self.counts, next_count = await store.count(self.engine), now + 0.25
            if now >= next_say:
                self._say("fault phase")
                next_say = now + 10
            if rounds >= base_rounds and self.kills() >= plan.min_kills:
                break
            in_flight = rounds * plan.subjects - self.counts.applied
            if in_flight + plan.subjects <= plan.window:
                rounds += 1
                await store.record_round(self.engine, rounds, plan.subjects)
            if plan.random_kill_mean_seconds > 0:
                self._random_kills(now)
            await asyncio.sleep(0.05)
        self.report.fault_seconds = loop.time() - started

    def _random_kills(self, now: float) -> None:
        """Kill each process at a random moment of its working life.

        A life's clock starts at its first piece of work, not at its start: however slow the
        machine (or a Kafka group join), a process is never killed before it gets going.
        """
        for supervisor in self.supervisors:
            if not supervisor.alive:
                continue
            if supervisor.kill_at is None:
                if self.counts.progress(supervisor.role) > supervisor.progress_at_start:
                    lifetime = self.dice.expovariate(1 / self.plan.random_kill_mean_seconds)
                    supervisor.kill_at = now + lifetime
            elif now >= supervisor.kill_at and supervisor.kill():
                self.random_kills += 1

    async def heal_phase(self) -> None:
        plan, loop = self.plan, asyncio.get_running_loop()
        for supervisor in self.supervisors:
            await supervisor.stop()  # the armed processes go; not counted as a fault kill
            supervisor.env.pop("FAULT_POINTS", None)
        self.counts = await store.count(self.engine)
        self.report.applied_under_fire = self.counts.applied
        started = last_change = next_say = loop.time()
        last_seen: tuple[int, ...] = ()
        while True:
            await self.supervise()
            self.counts = await store.count(self.engine)
            try:
                unconsumed = await self.bus.unconsumed()
            except Exception:  # the broker is between answers (a rebalance): ask again
                unconsumed = -1
            now = loop.time()
            seen = (self.counts.pending, self.counts.applied, unconsumed, self.counts.dead_letters)
            if seen != last_seen:
                last_seen, last_change = seen, now
            if now >= next_say:
                self._say("heal phase", f", {unconsumed} unconsumed on the log")
                next_say = now + 10
            if self.counts.pending == 0 and unconsumed == 0:
                self.report.heal_outcome = DRAINED
                break
            if now - last_change > plan.stall_seconds:
                self.report.heal_outcome = STALLED
                break
            if now - started > plan.heal_timeout_seconds:
                self.report.heal_outcome = DEADLINE
                break
            await asyncio.sleep(0.5)
        self.report.heal_seconds = loop.time() - started

    async def check(self) -> None:
        for supervisor in self.supervisors:
            await supervisor.stop()
        counts = await store.count(self.engine)
        report = self.report
        report.events = counts.recorded
        report.applied = counts.applied
        report.lost = counts.recorded - counts.applied
        report.duplicate_effects = counts.effects - counts.applied
        report.order_violations = counts.violations
        report.dead_letters = counts.dead_letters
        report.duplicates_delivered = _lines(self.delivery_log)
        report.kills = _kills_by_point(self.fault_log, self.plan.fault_points)
        report.kills[RANDOM_KILL] = self.random_kills

    async def stop(self) -> None:
        for supervisor in self.supervisors:
            await supervisor.stop()
        if self.report.passed:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            self.report.workdir = str(self.workdir)


async def run(
    *,
    server_url: str,
    kafka: KafkaTarget | None = None,
    plan: Plan | None = None,
    seed: int | None = None,
) -> Report:
    """One run over the embedded log, or over Kafka when ``kafka`` names a broker."""
    plan = plan or Plan()
    seed = seed if seed is not None else random.randrange(2**31)  # noqa: S311
    url = await store.fresh_database(server_url)
    engine = create_engine(url)
    harness_bus: HarnessBus = KafkaBus(kafka) if kafka else EmbeddedBus(engine)
    state = _Run(plan, seed, engine, harness_bus)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
            await conn.run_sync(metadata.create_all)
        await harness_bus.prepare()
        await state.start_workers(url)
        await state.fault_phase()
        await state.heal_phase()
        await state.check()
    finally:
        await state.stop()
        await harness_bus.close()
        await engine.dispose()
        await store.drop_database(server_url, url)
    return state.report
