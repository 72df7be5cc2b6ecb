"""The demo's story as a test: all five services on a live loopback server, jobs running,
asserting what each service shows at the end and the plan's events on the bus in order."""

from __future__ import annotations

import json

from sqlalchemy import text

from demo.harness import Receiver, serving
from demo.story import play
from shared.kit.db import create_engine
from tests.e2e.conftest import free_port
from tests.e2e.story import assert_plan_lifecycle, assert_story_end_state


async def test_the_seed_campaign_runs_through_all_five_services(
    live: str, database_url: str
) -> None:
    receiver = Receiver()
    receiver_port = free_port()
    with serving(receiver, receiver_port):
        outcome = await play(live, f"http://127.0.0.1:{receiver_port}/hook", receiver)
        await assert_story_end_state(live, outcome, receiver)

    engine = create_engine(database_url)
    async with engine.connect() as conn:
        values = (
            (
                await conn.execute(
                    text(
                        "SELECT value FROM bus.records WHERE topic = :t AND key = :k "
                        'ORDER BY "offset"'
                    ),
                    {"t": "planning.plan", "k": outcome["plan_id"]},
                )
            )
            .scalars()
            .all()
        )
    await engine.dispose()
    assert_plan_lifecycle([json.loads(v)["type"] for v in values])
