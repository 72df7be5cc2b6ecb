"""Channels' secrets are sealed at rest; notifications are still signed with the real secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.alerts import configuration, jobs
from services.alerts.schemas import ChannelIn
from tests.alerts.scenario import T0, Receiver, ctr, run

SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
OLD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"


async def _put(sessions: async_sessionmaker[AsyncSession], **fields: object) -> None:
    async with sessions() as session, session.begin():
        await configuration.put_channel(
            session,
            "default",
            ChannelIn.model_validate(
                {
                    "url": "http://team.test/hook",
                    "group_wait_seconds": 0,
                    "group_interval_seconds": 0,
                    **fields,
                }
            ),
        )


async def test_the_stored_channel_holds_no_secret_and_its_messages_are_signed_with_it(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, receiver: Receiver
) -> None:
    await _put(sessions, secret=SECRET)
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT row_to_json(c)::text FROM alerts.channels AS c WHERE id = 'default'")
            )
        ).scalar_one()
    assert SECRET not in row
    assert '"secret"' not in row  # the plain-text column is gone, not left beside the sealed one

    await run(sessions, ctr("0.011"), T0)
    # The official library checks the timestamp against its own clock: deliver at that clock.
    now = datetime.now(UTC)
    await run(sessions, jobs.deliver, now)
    ((body, headers),) = [(b, h) for host, b, h in receiver.signed if host == "team.test"]
    assert "x-signature" not in headers
    delivered = Webhook(SECRET).verify(body, headers)
    assert delivered["notifications"][0]["summary"] == "ctr 0.011 against 0.015 expected"
    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER).verify(body, headers)


async def test_a_rotated_channel_signs_with_both_secrets_and_a_replay_is_refused(
    sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    await _put(sessions, secret=SECRET, previous_secrets=[OLD_SECRET])
    await run(sessions, ctr("0.011"), T0)
    now = datetime.now(UTC)
    await run(sessions, jobs.deliver, now)
    ((body, headers),) = [(b, h) for host, b, h in receiver.signed if host == "team.test"]
    assert len(headers["webhook-signature"].split()) == 2
    # A receiver still on the old secret and one already on the new one both accept it.
    Webhook(SECRET).verify(body, headers)
    Webhook(OLD_SECRET).verify(body, headers)
    # The same capture sent again an hour later is outside the window: no replay.
    later = str(int((now - timedelta(hours=1)).timestamp()))
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body, headers | {"webhook-timestamp": later})


async def test_a_retry_keeps_its_webhook_id_so_a_receiver_can_drop_the_duplicate(
    sessions: async_sessionmaker[AsyncSession], receiver: Receiver
) -> None:
    await _put(sessions, secret=SECRET)
    await run(sessions, ctr("0.011"), T0)
    receiver.down.add("team.test")
    await run(sessions, jobs.deliver, T0)
    receiver.down.clear()
    await run(sessions, jobs.deliver, T0 + timedelta(seconds=30))
    failed, delivered = receiver.headers
    assert failed["webhook-id"] == delivered["webhook-id"]
    assert delivered["webhook-id"].startswith("msg_")
    # Each attempt is signed afresh at its own time.
    assert int(delivered["webhook-timestamp"]) - int(failed["webhook-timestamp"]) == 30


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("s" * 16, "whsec_"),
        ("whsec_" + "QUJD", "whsec_"),  # 3 bytes: too short a key
        (None, "needs a secret"),
    ],
)
def test_a_webhook_channel_refuses_a_secret_that_is_not_standard_webhooks(
    secret: str | None, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        ChannelIn.model_validate({"url": "http://team.test/hook", "secret": secret})
