"""The inbox: once-only effects, bounded retries, dead letters that keep subject order."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.tasks.models import bus as tasks_bus
from shared.contract.envelope import Envelope
from shared.kit.bus.inbox import InfrastructureError
from shared.kit.db import create_engine, create_sessionmaker
from tests.shared.bus_fixtures import Recorder, plan_event, recording_inbox


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine: AsyncEngine = create_engine(database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


def wire(subject: str, seq: int) -> bytes:
    return (
        Envelope.wrap(plan_event(subject, seq), source="planning", subject=subject)
        .model_dump_json()
        .encode()
    )


async def parked(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str | None, str]]:
    table = tasks_bus.dead_letters
    async with sessions() as session:
        rows = await session.execute(
            select(table.c.subject, table.c.error)
            .where(table.c.status == "parked")
            .order_by(table.c.id)
        )
        return [(r.subject, r.error) for r in rows]


async def test_a_redelivered_event_is_applied_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    recorder = Recorder()
    inbox = recording_inbox(sessions, recorder)
    raw = wire("a", 1)
    assert [await inbox.receive(raw) for _ in range(3)] == ["applied", "duplicate", "duplicate"]
    assert recorder.applied == ["a#1"]


async def test_a_poison_event_is_parked_and_holds_back_its_subject_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    recorder = Recorder(fail_names={"a#1"})
    inbox = recording_inbox(sessions, recorder, max_attempts=3)
    outcomes = [await inbox.receive(wire(s, n)) for s, n in [("a", 1), ("a", 2), ("b", 1)]]

    assert outcomes == ["parked", "parked", "applied"]
    assert recorder.applied == ["b#1"]  # other subjects keep flowing
    dead = await parked(sessions)
    assert [subject for subject, _ in dead] == ["a", "a"]
    assert "cannot apply a#1" in dead[0][1]
    assert "held back" in dead[1][1]

    recorder.fail_names.clear()  # the fix is deployed
    first_id = await _first_parked_id(sessions)
    replayed = await inbox.replay_subject("a", first_id)
    assert [outcome for _, outcome in replayed] == ["applied", "applied"]
    assert recorder.names_for("a") == ["a#1", "a#2"]  # in their original order
    assert await parked(sessions) == []


async def test_replay_stops_at_the_first_event_that_still_fails(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    recorder = Recorder(fail_names={"a#1"})
    inbox = recording_inbox(sessions, recorder)
    for n in (1, 2):
        await inbox.receive(wire("a", n))
    replayed = await inbox.replay_subject("a", await _first_parked_id(sessions))
    assert [outcome for _, outcome in replayed] == ["failed"]
    assert recorder.applied == []
    assert len(await parked(sessions)) == 2


async def test_unknown_versions_and_invalid_payloads_are_parked_with_the_reason(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    inbox = recording_inbox(sessions, Recorder())
    envelope = json.loads(wire("a", 1))
    unknown_version = json.dumps({**envelope, "version": 9}).encode()
    bad_payload = json.dumps(
        {**envelope, "data": {**envelope["data"], "starts_on": "soon"}}
    ).encode()

    assert await inbox.receive(unknown_version) == "parked"
    assert await inbox.receive(bad_payload) == "parked"
    assert await inbox.receive(b"not json at all") == "parked"
    errors = [error for _, error in await parked(sessions)]
    assert "no payload registered for planning.plan.created v9" in errors[0]
    assert "starts_on" in errors[1]
    assert "invalid envelope" in errors[2]


async def test_events_of_types_the_handler_does_not_take_are_ignored(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    recorder = Recorder()
    inbox = recording_inbox(sessions, recorder)
    other = json.loads(wire("a", 1)) | {"type": "planning.plan.archived"}
    assert await inbox.receive(json.dumps(other).encode()) == "ignored"
    assert recorder.applied == []
    assert await parked(sessions) == []


async def test_a_database_failure_is_raised_for_a_retry_not_parked(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    def database_down(message: str) -> Exception:
        return OperationalError("SELECT 1", {}, ConnectionError(message))

    inbox = recording_inbox(sessions, Recorder(fail_names={"a#1"}, error=database_down))
    with pytest.raises(InfrastructureError):
        await inbox.receive(wire("a", 1))
    assert await parked(sessions) == []


async def _first_parked_id(sessions: async_sessionmaker[AsyncSession]) -> int:
    table = tasks_bus.dead_letters
    async with sessions() as session:
        return int(await session.scalar(select(table.c.id).order_by(table.c.id).limit(1)) or 0)
