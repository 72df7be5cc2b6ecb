"""Approvals as the company uses them: docs/domain.md §8's examples, races, audit, refusals.

They run the approvals service alone and file through its own use case
(tests/harness/factories/approvals.py) where filing is not what they check. A plan's or an
adjustment's request comes from planning's events: those are stories, in
tests/e2e/test_plan_approval_stories.py.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contract.types import Role
from shared.kit.db import create_engine
from tests.conftest import bearer
from tests.harness.factories import approvals as factories
from tests.harness.factories.approvals import person, sponsorship

SUPERVISOR = bearer(Role.SUPERVISOR, "supervisor-wang")
MANAGER = bearer(Role.MANAGER, "manager-li")
FINANCE = bearer(Role.FINANCE, "finance-zhao")
SALES = bearer(Role.SALES, "sales-chen")
Sessions = async_sessionmaker[AsyncSession]


async def _filed(sessions: Sessions, requester: Role, subject: str | None = None) -> dict[str, Any]:
    """A sponsorship filed ten days ahead by ``subject`` (a ``requester``), as the API shows it."""
    filed = await factories.file_request(sessions, sponsorship(10), person(requester, subject))
    return filed.model_dump(mode="json")


async def _decide(
    client: httpx.AsyncClient,
    request: dict[str, Any],
    headers: dict[str, str],
    decision: str = "approve",
    **extra: Any,
) -> httpx.Response:
    body = {"stage": request["current_stage"], "decision": decision, **extra}
    return await client.post(
        f"/approvals/requests/{request['id']}/decisions", json=body, headers=headers
    )


async def test_sponsorship_needs_five_days_notice_and_the_agreement(
    approvals_client: httpx.AsyncClient,
) -> None:
    specialist = bearer(Role.SPECIALIST, "amy")
    early = await approvals_client.post(
        "/approvals/requests", json=sponsorship(4), headers=specialist
    )
    assert early.status_code == 422
    assert early.json()["rule"] == "sponsorship-lead-time"
    assert early.json()["field"] == "event_on"
    unsigned = await approvals_client.post(
        "/approvals/requests", json=sponsorship(6, agreement=False), headers=specialist
    )
    assert unsigned.json()["rule"] == "sponsorship-agreement"
    preview = await approvals_client.post(
        "/approvals/requests/preview", json=sponsorship(6), headers=specialist
    )
    assert [p["passed"] for p in preview.json()["policies"]] == [True, True]
    assert [s["name"] for s in preview.json()["stages"]] == ["supervisor", "manager"]
    filed = await approvals_client.post(
        "/approvals/requests", json=sponsorship(6), headers=specialist
    )
    assert filed.status_code == 201, filed.text
    listed = (await approvals_client.get("/approvals/requests", headers=specialist)).json()["items"]
    assert [r["id"] for r in listed] == [filed.json()["id"]]
    forced = await approvals_client.post(
        "/approvals/requests",
        json={**sponsorship(2), "override_reason": "CEO asked"},
        headers=specialist,
    )
    assert forced.status_code == 403
    admin = await approvals_client.post(
        "/approvals/requests",
        json={**sponsorship(2), "override_reason": "festival moved forward by the school"},
        headers=bearer(Role.ADMIN, "root"),
    )
    assert admin.status_code == 201
    assert admin.json()["policy_override"] == "festival moved forward by the school"


async def test_twenty_concurrent_decisions_record_exactly_one(
    approvals_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    request = await _filed(sessions, Role.SPECIALIST, "amy")
    supervisors = [bearer(Role.SUPERVISOR, f"supervisor-{n}") for n in range(20)]
    answers = await asyncio.gather(*(_decide(approvals_client, request, h) for h in supervisors))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(200) == 1
    assert set(statuses) <= {200, 409}
    final = (
        await approvals_client.get(f"/approvals/requests/{request['id']}", headers=SUPERVISOR)
    ).json()
    assert len(final["decisions"]) == 1
    assert final["current_stage"] == 1
    stale = await approvals_client.post(
        f"/approvals/requests/{request['id']}/decisions",
        json={"stage": 1, "decision": "approve"},
        headers={**MANAGER, "If-Match": '"1"'},
    )
    assert stale.status_code == 412


async def test_separation_of_duties_and_stage_roles(
    approvals_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    supervisor_requester = bearer(Role.SUPERVISOR, "supervisor-wang")
    request = await _filed(sessions, Role.SUPERVISOR, "supervisor-wang")
    mine = await _decide(approvals_client, request, supervisor_requester)
    assert mine.status_code == 403
    assert mine.json()["rule"] == "separation-of-duties"
    both = bearer(Role.SUPERVISOR, "ms-both")
    both_roles = {"Authorization": bearer(Role.MANAGER, "ms-both")["Authorization"]}
    assert (await _decide(approvals_client, request, both)).status_code == 200
    second = (
        await approvals_client.get(f"/approvals/requests/{request['id']}", headers=both)
    ).json()
    twice = await _decide(approvals_client, second, both_roles)
    assert twice.status_code == 403
    assert twice.json()["rule"] == "separation-of-duties"
    legal = await _decide(approvals_client, second, bearer(Role.LEGAL, "lawyer"))
    assert legal.status_code == 403
    assert legal.json()["rule"] == "stage-role"


async def test_an_out_of_office_supervisor_is_stood_in_for_and_the_audit_shows_both(
    approvals_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    now = datetime.now(UTC)
    away = await approvals_client.post(
        "/approvals/delegations",
        json={
            "delegate": "deputy-zhou",
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(days=3)).isoformat(),
        },
        headers=SUPERVISOR,
    )
    assert away.status_code == 201
    filed = await _filed(sessions, Role.SPECIALIST)
    deputy = bearer(Role.SPECIALIST, "deputy-zhou")
    inbox = (await approvals_client.get("/approvals/inbox", headers=deputy)).json()["items"]
    assert [r["id"] for r in inbox] == [filed["id"]]
    decided = await _decide(approvals_client, filed, deputy)
    assert decided.status_code == 200, decided.text
    (decision,) = decided.json()["decisions"]
    assert (decision["decided_by"], decision["acting_for"]) == ("deputy-zhou", "supervisor-wang")


async def test_an_edited_audit_row_breaks_the_chain(
    approvals_client: httpx.AsyncClient, database_url: str, sessions: Sessions
) -> None:
    filed = await factories.file_request(sessions, sponsorship(10), person(Role.SPECIALIST))
    await factories.decide(sessions, filed, person(Role.SUPERVISOR, "supervisor-wang"))
    intact = (await approvals_client.get("/approvals/audit/verify", headers=FINANCE)).json()
    assert intact["intact"] is True
    assert intact["entries_checked"] >= 2
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        edited = await conn.scalar(
            text(
                "UPDATE approvals.audit_trail SET actor = 'someone-else' "
                "WHERE action = 'decision.approve' RETURNING id"
            )
        )
    await engine.dispose()
    broken = (await approvals_client.get("/approvals/audit/verify", headers=FINANCE)).json()
    assert broken["intact"] is False
    assert broken["first_broken_entry"] == edited
    assert (await approvals_client.get("/approvals/audit/verify", headers=SALES)).status_code == 403


async def test_concurrent_filings_and_decisions_keep_one_intact_chain(
    approvals_client: httpx.AsyncClient,
) -> None:
    filed = await asyncio.gather(
        *(
            approvals_client.post(
                "/approvals/requests",
                json=sponsorship(10),
                headers=bearer(Role.SPECIALIST, f"s{n}"),
            )
            for n in range(12)
        )
    )
    assert [f.status_code for f in filed] == [201] * 12
    decided = await asyncio.gather(
        *(_decide(approvals_client, f.json(), SUPERVISOR) for f in filed)
    )
    assert [d.status_code for d in decided] == [200] * 12
    trail = (await approvals_client.get("/approvals/audit/verify", headers=FINANCE)).json()
    assert trail["intact"] is True
    assert trail["entries_checked"] == 24  # one filing and one decision each, none lost


async def test_a_quorum_workflow_set_by_an_admin_routes_new_requests(
    approvals_client: httpx.AsyncClient,
) -> None:
    definition: dict[str, Any] = {
        "title": "contract review by two of three",
        "stages": [
            {
                "name": "legal panel",
                "mode": "quorum",
                "quorum": 2,
                "roles": ["legal", "manager", "finance"],
            }
        ],
    }
    bad = await approvals_client.put(
        "/approvals/workflows/contract",
        json={**definition, "stages": [{**definition["stages"][0], "quorum": 5}]},
        headers=bearer(Role.ADMIN),
    )
    assert bad.status_code == 422
    saved = await approvals_client.put(
        "/approvals/workflows/contract", json=definition, headers=bearer(Role.ADMIN)
    )
    assert saved.json()["version"] == 2
    filed = (
        await approvals_client.post(
            "/approvals/requests",
            json={"kind": "contract", "title": "KOC agency framework agreement"},
            headers=bearer(Role.SPECIALIST),
        )
    ).json()
    assert filed["workflow_version"] == 2
    assert (await _decide(approvals_client, filed, bearer(Role.LEGAL, "lawyer"))).json()[
        "status"
    ] == "pending"
    assert (await _decide(approvals_client, filed, FINANCE)).json()["status"] == "approved"
    assert uuid.UUID(filed["reference_id"])
