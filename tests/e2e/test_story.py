"""The demo's story as a test: all five services on a live loopback server, jobs running,
asserting what each service shows at the end and the plan's events on the bus in order."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from allinone.app import create_allinone_app
from demo.__main__ import Receiver, play, serving
from shared.contract.types import Role
from shared.kit.db import create_engine
from shared.kit.settings import BusKind, Settings
from tests.conftest import bearer


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live(database_url: str) -> Iterator[str]:
    """The all-in-one app with its relays, consumers and jobs, on a loopback port."""
    settings = Settings(
        database_url=database_url, bus=BusKind.EMBEDDED, relay_idle_poll_seconds=0.05
    )
    app, _root = create_allinone_app(settings, database_url=database_url)
    port = _port()
    with serving(app, port):
        yield f"http://127.0.0.1:{port}"


async def test_the_seed_campaign_runs_through_all_five_services(
    live: str, database_url: str
) -> None:
    receiver = Receiver()
    receiver_port = _port()
    with serving(receiver, receiver_port):
        outcome = await play(live, f"http://127.0.0.1:{receiver_port}/hook", receiver)
    plan_id = outcome["plan_id"]
    async with httpx.AsyncClient(base_url=live) as http:
        reader = bearer(Role.MANAGER)
        plan = (await http.get(f"/planning/plans/{plan_id}", headers=reader)).json()
        assert (plan["plan"]["status"], plan["plan"]["version"]) == ("completed", 2)
        assert plan["retrospective"][0]["root_cause"] == "mall's historical footfall not used"
        alert = (await http.get(f"/alerts/alerts/{outcome['alert_id']}", headers=reader)).json()
        assert alert["state"] == "resolved"
        requests = (
            await http.get("/approvals/requests", params={"plan_id": plan_id}, headers=reader)
        ).json()
        assert sorted((r["kind"], r["status"]) for r in requests["items"]) == [
            ("adjustment", "approved"),
            ("plan", "approved"),
        ]
    assert [n["kind"] for n in receiver.received] == ["firing", "resolved"]
    assert outcome["task"]["alert_id"] == outcome["alert_id"]
    achievements = [r["achievement"] for r in outcome["evaluation"]["rows"]]
    assert achievements == ["90%", "150%", "124%"]

    engine = create_engine(database_url)
    async with engine.connect() as conn:
        values = (
            (
                await conn.execute(
                    text(
                        "SELECT value FROM bus.records WHERE topic = :t AND key = :k "
                        'ORDER BY "offset"'
                    ),
                    {"t": "planning.plan", "k": plan_id},
                )
            )
            .scalars()
            .all()
        )
    await engine.dispose()
    types = [json.loads(v)["type"].removeprefix("planning.plan.") for v in values]
    lifecycle = [
        t for t in types if t in {"created", "submitted", "approved", "activated", "completed"}
    ]
    assert lifecycle == ["created", "submitted", "approved", "activated", "completed"]
    assert types.count("targets_set") == 2  # at approval and after the reallocation
