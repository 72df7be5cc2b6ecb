"""Delegations keep to their windows: none set in the past, and a refusal names the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from shared.contract.types import Role
from tests.approvals.test_requests import SUPERVISOR
from tests.conftest import bearer
from tests.harness.factories.approvals import sponsorship


async def test_a_window_that_has_already_ended_is_refused_naming_its_end(
    approvals_client: httpx.AsyncClient,
) -> None:
    now = datetime.now(UTC)
    yesterday = {
        "delegate": "deputy-zhou",
        "starts_at": (now - timedelta(days=3)).isoformat(),
        "ends_at": (now - timedelta(days=1)).isoformat(),
    }
    refused = await approvals_client.post(
        "/approvals/delegations", json=yesterday, headers=SUPERVISOR
    )
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert (problem["field"], problem["rule"]) == ("ends_at", "delegation-window")
    assert "has passed" in problem["detail"]
    # A window that began earlier but still runs is fine.
    running = {**yesterday, "ends_at": (now + timedelta(days=1)).isoformat()}
    assert (
        await approvals_client.post("/approvals/delegations", json=running, headers=SUPERVISOR)
    ).status_code == 201


async def test_a_delegate_before_the_window_is_told_the_window_not_only_the_role(
    approvals_client: httpx.AsyncClient,
) -> None:
    now = datetime.now(UTC)
    starts, ends = now + timedelta(days=2), now + timedelta(days=5)
    away = await approvals_client.post(
        "/approvals/delegations",
        json={
            "delegate": "deputy-qian",
            "starts_at": starts.isoformat(),
            "ends_at": ends.isoformat(),
        },
        headers=SUPERVISOR,
    )
    assert away.status_code == 201, away.text
    filed = (
        await approvals_client.post(
            "/approvals/requests", json=sponsorship(10), headers=bearer(Role.SPECIALIST)
        )
    ).json()
    early = await approvals_client.post(
        f"/approvals/requests/{filed['id']}/decisions",
        json={"stage": filed["current_stage"], "decision": "approve"},
        headers=bearer(Role.SPECIALIST, "deputy-qian"),
    )
    assert early.status_code == 403, early.text
    problem = early.json()
    assert problem["rule"] == "delegation-window"
    stored = away.json()
    assert f"from {stored['starts_at'][:19]}" in problem["detail"].replace("Z", "+00:00")
    assert "supervisor-wang" in problem["detail"]
