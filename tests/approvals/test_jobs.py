"""The SLA watch escalates an overdue stage once, however often and wherever it runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from services.approvals.jobs import JOBS
from services.approvals.models import bus
from shared.contract.types import Role
from shared.kit.db import create_engine, create_sessionmaker
from shared.kit.settings import Settings
from tests.conftest import bearer
from tests.harness.factories.approvals import sponsorship


async def test_an_overdue_stage_escalates_and_is_announced_once(
    approvals_client: httpx.AsyncClient, database_url: str, settings: Settings
) -> None:
    filed = (
        await approvals_client.post(
            "/approvals/requests", json=sponsorship(10), headers=bearer(Role.SPECIALIST)
        )
    ).json()
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    job = JOBS[0]  # the SLA watch (JOBS[1] delivers notices)
    on_time = datetime.now(UTC) + timedelta(hours=1)
    late = datetime.now(UTC) + timedelta(days=3)
    await job.run_once(sessions, settings, on_time)
    await asyncio.gather(*(job.run_once(sessions, settings, late) for _ in range(2)))
    await job.run_once(sessions, settings, late)
    async with engine.connect() as conn:
        overdue = (
            await conn.execute(
                select(bus.outbox.c.envelope).where(
                    bus.outbox.c.event_type == "approvals.request.overdue"
                )
            )
        ).all()
    assert len(overdue) == 1
    async with engine.connect() as conn:
        escalated = (
            await conn.execute(
                select(bus.outbox.c.envelope).where(
                    bus.outbox.c.event_type == "approvals.request.escalated"
                )
            )
        ).all()
    await engine.dispose()
    assert [e.envelope["data"]["escalated_to"] for e in escalated] == [["manager"]]
    assert overdue[0].envelope["data"]["approver_roles"] == ["supervisor", "manager"]
    request = (
        await approvals_client.get(
            f"/approvals/requests/{filed['id']}", headers=bearer(Role.MANAGER)
        )
    ).json()
    assert request["stages"][0]["escalated_to"] == ["manager"]
    manager_inbox = (
        await approvals_client.get("/approvals/inbox", headers=bearer(Role.MANAGER, "m"))
    ).json()["items"]
    assert [r["id"] for r in manager_inbox] == [filed["id"]]
