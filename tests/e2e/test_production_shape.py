"""The deployed shape: five services as separate processes on a real Kafka-protocol broker.

One PostgreSQL database with a schema per service, the Kafka bus between them, a second
replica of alerts (the service with the most consumer groups), the router in front, and the
demo's story played through it. Midway one alerts process is killed with SIGKILL and started
again. The verdict is read from the broker itself and from each service's bus tables: every
published event is on its topic once, every consumer applied exactly the events of its topics
that it handles, every group committed to the end, and nothing was parked.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo.harness import Receiver, serving
from demo.story import play
from distributed.processes import Fleet, ServiceProcess, wait_ready
from distributed.router import Router
from shared.contract.types import Role
from shared.kit.secrets import new_key
from shared.kit.settings import Settings
from tests.conftest import bearer
from tests.e2e.conftest import free_port
from tests.e2e.ledger import Ledger, read_broker, read_ledger
from tests.e2e.story import assert_plan_lifecycle, assert_story_end_state
from tests.kafka_broker import KafkaBroker
from tests.polling import eventually

pytestmark = pytest.mark.kafka

# Generous: six processes start at once on a shared two-core machine.
READY_SECONDS = 180
STORY_SECONDS = 240
SETTLE_SECONDS = 120


@dataclass
class Shape:
    """The running system: its processes, the router's address and the settings it shares."""

    fleet: Fleet
    base: str
    settings: Settings


@pytest.fixture
def shape(
    kafka_broker: KafkaBroker,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Shape]:
    # Production mode refuses the development secret; tokens here are minted with this one.
    secret = secrets.token_urlsafe(32)
    monkeypatch.setenv("JWT_SECRET", secret)
    prefix = f"ps-{uuid.uuid4().hex[:8]}."  # topics and groups of this test alone
    env = {
        **kafka_broker.env(),
        "DATABASE_URL": database_url,
        "TOPIC_PREFIX": prefix,
        "JWT_SECRET": secret,
        "SECRET_KEYS": json.dumps([new_key()]),
        "RELAY_IDLE_POLL_SECONDS": "0.1",
    }
    fleet = Fleet({"alerts": 2}, env, tmp_path / "logs")
    fleet.start()
    try:
        fleet.wait_ready(READY_SECONDS)
        port = free_port()
        with serving(Router(fleet.upstreams()), port):
            yield Shape(
                fleet,
                f"http://127.0.0.1:{port}",
                Settings(
                    kafka_bootstrap_servers=kafka_broker.bootstrap_servers, topic_prefix=prefix
                ),
            )
    finally:
        fleet.stop()


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    hook = Receiver()
    port = free_port()
    with serving(hook, port):
        yield hook, f"http://127.0.0.1:{port}/hook"


async def plan_approved(base: str, story: asyncio.Task[Any]) -> str | None:
    """The story's plan id once planning shows it approved (the story's own errors surface)."""
    if story.done():
        story.result()
        raise AssertionError("the story ended before its plan was approved")
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        listed = await http.get("/planning/plans", headers=bearer(Role.MANAGER))
    approved = [p for p in listed.json()["items"] if p["status"] in ("approved", "active")]
    return approved[0]["id"] if approved else None


def log_messages(process: ServiceProcess) -> list[str]:
    """The messages of a process's JSON log lines (anything else it printed is skipped)."""
    messages = []
    for line in process.log_path.read_text(errors="replace").splitlines():
        try:
            messages.append(str(json.loads(line).get("message", "")))
        except (ValueError, AttributeError):
            continue
    return messages


async def plan_partition(shape: Shape, plan_id: str) -> int:
    """The partition of the plan's events: every topic has as many partitions and events are
    keyed by plan, so its metric updates will land on the same-numbered one of metrics.plan."""
    records, _ends = await read_broker(shape.settings)
    [partition] = {r.partition for r in records if r.topic == "planning.plan" and r.key == plan_id}
    return partition


async def owner_of_metrics(shape: Shape, partition: int) -> ServiceProcess | None:
    """The alerts replica that, by its own log, reads this partition of metrics.plan for the
    group that raises alerts from metric updates."""
    topic, group = (
        shape.settings.topic("metrics.plan"),
        shape.settings.consumer_group("alerts.on_metrics_updated"),
    )
    wanted = f"TopicPartition(topic='{topic}', partition={partition})"
    for replica in (p for p in shape.fleet.processes if p.service == "alerts"):
        assignments = [
            message
            for message in log_messages(replica)
            if message.startswith("Setting newly assigned partitions")
            and message.endswith(f"for group {group}")
        ]
        if assignments and wanted in assignments[-1]:
            return replica
    return None


async def settled_ledger(settings: Settings, database_url: str) -> Ledger:
    """Poll until nothing is in flight; the last reading's discrepancies are the verdict."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_SECONDS
    while True:
        ledger = await read_ledger(settings, database_url)
        wrong = ledger.discrepancies(settings)
        if not wrong or loop.time() > deadline:
            assert wrong == [], f"not settled after {SETTLE_SECONDS} s"
            return ledger
        await asyncio.sleep(0.5)


@pytest.fixture
async def story_task() -> AsyncIterator[list[asyncio.Task[Any]]]:
    tasks: list[asyncio.Task[Any]] = []
    yield tasks
    for task in tasks:  # a failed test must not leave the story running into the next one
        task.cancel()


async def test_the_story_in_the_production_shape_survives_a_kill_9(
    shape: Shape,
    receiver: tuple[Receiver, str],
    database_url: str,
    story_task: list[asyncio.Task[Any]],
) -> None:
    hook, hook_url = receiver
    story = asyncio.create_task(play(shape.base, hook_url, hook))
    story_task.append(story)

    # The plan is approved and the story is about to post the metrics its alert fires on. The
    # alerts process that reads the plan's partition for metric updates dies without a word,
    # so those metrics arrive while the group still counts on a member that is gone.
    plan_id = await eventually(lambda: plan_approved(shape.base, story), timeout=STORY_SECONDS)
    partition = await plan_partition(shape, plan_id)
    victim = await eventually(lambda: owner_of_metrics(shape, partition), timeout=30)
    victim.kill()
    assert victim.exit_code() == -signal.SIGKILL
    victim.start()

    outcome = await asyncio.wait_for(story, STORY_SECONDS)
    await asyncio.to_thread(wait_ready, shape.fleet.processes, READY_SECONDS)
    assert len(victim.pids) == 2  # it was killed and started again

    await assert_story_end_state(shape.base, outcome, hook)
    ledger = await settled_ledger(shape.settings, database_url)
    assert ledger.parked == 0
    plan_events = sorted(
        (r for r in ledger.records if r.topic == "planning.plan" and r.key == outcome["plan_id"]),
        key=lambda r: r.offset,
    )
    assert_plan_lifecycle([r.event_type for r in plan_events])
    updates = [r for r in ledger.records if r.event_type == "metrics.plan.metrics_updated"]
    assert updates  # the alert fired on them, after the kill: they went to the victim's partition
    assert {(r.key, r.partition) for r in updates} == {(plan_id, partition)}
    # Every consumer took part: the story's events reached all five services' inboxes.
    assert {consumer.split(".")[0] for consumer in ledger.applied} == {
        "planning",
        "tasks",
        "metrics",
        "alerts",
        "approvals",
    }
