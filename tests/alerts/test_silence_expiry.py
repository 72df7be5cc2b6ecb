"""A silence that ends lets its still-firing alert be heard; resolves follow the firing sent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.alerts import jobs
from services.alerts.schemas import SilenceCreate
from tests.alerts.scenario import PLAN, T0, Receiver, alerts_of, ctr, run

HOUR = timedelta(hours=1)


def _silence(until: timedelta) -> SilenceCreate:
    return SilenceCreate(
        matchers={"plan_id": str(PLAN)},
        starts_at=T0 - HOUR,
        ends_at=T0 + until,
        comment="creative swap in progress",
    )


async def test_an_alert_still_firing_when_its_silence_ends_is_notified_then(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    await run(sessions, _silence(HOUR), T0)
    await run(sessions, ctr("0.011"), T0)  # fires under the silence
    await run(sessions, jobs.watch, T0 + timedelta(minutes=30))  # still silenced
    await run(sessions, jobs.deliver, T0 + timedelta(minutes=30))
    assert receiver.received == []
    ended = T0 + HOUR + timedelta(minutes=1)  # the watch's first tick after the silence
    await run(sessions, jobs.watch, ended)
    await run(sessions, jobs.deliver, ended)
    assert [(host, n["kind"]) for host, n in receiver.received] == [("team.test", "firing")]
    await run(sessions, jobs.watch, ended + timedelta(minutes=1))  # told once, not each tick
    await run(sessions, ctr("0.016"), ended + timedelta(minutes=5))
    await run(sessions, jobs.deliver, ended + timedelta(minutes=5))
    assert [n["kind"] for _h, n in receiver.received] == ["firing", "resolved"]


async def test_an_alert_silenced_all_its_life_resolves_unheard(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    await run(sessions, _silence(HOUR), T0)
    await run(sessions, ctr("0.011"), T0)
    await run(sessions, ctr("0.016"), T0 + timedelta(minutes=20))  # resolves, still silenced
    after = T0 + 2 * HOUR
    await run(sessions, jobs.watch, after)
    await run(sessions, jobs.deliver, after)
    (alert,) = await alerts_of(engine)
    assert alert.state == "resolved"
    assert receiver.received == []


async def test_an_alert_told_before_a_silence_is_heard_resolving_under_it(
    sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    await run(sessions, ctr("0.011"), T0)
    await run(sessions, jobs.deliver, T0)
    await run(sessions, _silence(3 * HOUR), T0 + timedelta(minutes=10))
    await run(sessions, ctr("0.016"), T0 + timedelta(minutes=20))
    await run(sessions, jobs.deliver, T0 + timedelta(minutes=20))
    assert [n["kind"] for _h, n in receiver.received] == ["firing", "resolved"]
