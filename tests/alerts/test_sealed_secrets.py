"""Channels' secrets are sealed at rest; notifications are still signed with the real secret."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.alerts import jobs, service
from services.alerts.schemas import ChannelIn
from tests.alerts.scenario import T0, Receiver, ctr, run

SECRET = "channel-secret-0123456789"


async def test_the_stored_channel_holds_no_secret_and_its_messages_are_signed_with_it(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, receiver: Receiver
) -> None:
    async with sessions() as session, session.begin():
        await service.put_channel(
            session,
            "default",
            ChannelIn.model_validate(
                {
                    "url": "http://team.test/hook",
                    "secret": SECRET,
                    "group_wait_seconds": 0,
                    "group_interval_seconds": 0,
                }
            ),
        )
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT row_to_json(c)::text FROM alerts.channels AS c WHERE id = 'default'")
            )
        ).scalar_one()
    assert SECRET not in row
    assert '"secret"' not in row  # the plain-text column is gone, not left beside the sealed one

    await run(sessions, ctr("0.011"), T0)
    await run(sessions, jobs.deliver, T0)
    ((body, signature),) = [(b, s) for host, b, s in receiver.signed if host == "team.test"]
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert signature == f"sha256={expected}"
