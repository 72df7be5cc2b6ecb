"""Approvers hear where they are: a request entering their inbox, its SLA nearing, its
escalation to them; once per event however often the jobs run, retried when a robot refuses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from services.approvals import notices
from services.approvals.jobs import JOBS
from shared.contract.types import Role
from shared.kit.db import create_engine, create_sessionmaker
from shared.kit.settings import Settings
from tests.conftest import bearer
from tests.harness.factories.approvals import sponsorship

SLA_WATCH, DELIVER = JOBS
WANG = bearer(Role.SUPERVISOR, "supervisor-wang")
LI = bearer(Role.MANAGER, "manager-li")
DING_SECRET = "SEC0123456789abcdef"


class Robots:
    """WeCom and DingTalk robots on loopback names; ``refusals`` are answered first."""

    def __init__(self) -> None:
        self.received: list[httpx.Request] = []
        self.refusals: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.refusals:
            return httpx.Response(200, json=self.refusals.pop(0))
        self.received.append(request)
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "code": 0})

    def titles(self, host: str) -> list[str]:
        bodies = [json.loads(r.content) for r in self.received if r.url.host == host]
        return [
            b["markdown"].get("title") or b["markdown"]["content"].splitlines()[0] for b in bodies
        ]


@pytest.fixture
def robots() -> Iterator[Robots]:
    endpoint = Robots()
    notices.TRANSPORT = httpx.MockTransport(endpoint)
    yield endpoint
    notices.TRANSPORT = None


async def _choose_channels(approvals_client: httpx.AsyncClient) -> None:
    wecom = {"kind": "wecom", "url": "http://qyapi.test/cgi-bin/webhook/send?key=wang"}
    answer = await approvals_client.put(
        "/approvals/notice-preferences/me", json=wecom, headers=WANG
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["roles"] == ["supervisor"]
    ding = {
        "kind": "dingtalk",
        "url": "http://oapi.test/robot/send?access_token=li",
        "secret": DING_SECRET,
        "language": "en",
    }
    answer = await approvals_client.put("/approvals/notice-preferences/me", json=ding, headers=LI)
    assert answer.status_code == 200, answer.text
    assert "secret" not in answer.json()


async def _run(settings: Settings, *runs: tuple[Any, datetime]) -> None:
    engine = create_engine(settings.database_url or "")
    sessions = create_sessionmaker(engine)
    for job, at in runs:
        await job.run_once(sessions, settings, at)
    await engine.dispose()


async def _file(approvals_client: httpx.AsyncClient) -> dict[str, Any]:
    filed = await approvals_client.post(
        "/approvals/requests", json=sponsorship(10), headers=bearer(Role.SPECIALIST)
    )
    assert filed.status_code == 201, filed.text
    body: dict[str, Any] = filed.json()
    return body


async def test_each_approver_is_told_once_when_the_request_reaches_their_stage(
    approvals_client: httpx.AsyncClient, settings: Settings, robots: Robots
) -> None:
    await _choose_channels(approvals_client)
    filed = await _file(approvals_client)
    now = datetime.now(UTC)
    await _run(settings, (DELIVER, now), (DELIVER, now))  # run twice: still one message
    assert robots.titles("qyapi.test") == ["### 待您审批：campus festival sponsorship"]
    assert robots.titles("oapi.test") == []  # the manager's stage has not started

    decided = await approvals_client.post(
        f"/approvals/requests/{filed['id']}/decisions",
        json={"stage": filed["current_stage"], "decision": "approve"},
        headers=WANG,
    )
    assert decided.status_code == 200, decided.text
    later = datetime.now(UTC)  # the decision's stage opened at the API's clock, after ``now``
    await _run(settings, (DELIVER, later), (DELIVER, later))
    assert robots.titles("oapi.test") == ["Waiting for your approval: campus festival sponsorship"]
    (to_li,) = [r for r in robots.received if r.url.host == "oapi.test"]
    query = parse_qs(to_li.url.query.decode())
    expected = hmac.new(
        DING_SECRET.encode(), f"{query['timestamp'][0]}\n{DING_SECRET}".encode(), hashlib.sha256
    ).digest()
    assert query["sign"] == [base64.b64encode(expected).decode()]
    text = json.loads(to_li.content)["markdown"]["text"]
    assert "**Amount**: 30000.00 CNY" in text
    assert f"/approvals/requests/{filed['id']})" in text

    log = await approvals_client.get(
        f"/approvals/requests/{filed['id']}/notices", headers=bearer(Role.ADMIN)
    )
    assert [(n["person"], n["reason"], n["status"]) for n in log.json()["items"]] == [
        ("supervisor-wang", "inbox", "sent"),
        ("manager-li", "inbox", "sent"),
    ]


async def test_a_nearing_sla_and_an_escalation_are_each_told_once(
    approvals_client: httpx.AsyncClient, settings: Settings, robots: Robots
) -> None:
    await _choose_channels(approvals_client)
    filed = await _file(approvals_client)
    due = datetime.fromisoformat(filed["stages"][filed["current_stage"]]["due_at"])
    near, late = due - timedelta(hours=3), due + timedelta(minutes=1)
    await _run(
        settings,
        (SLA_WATCH, due - timedelta(hours=5)),  # more than the 4 h warning left: nothing yet
        (SLA_WATCH, near),
        (SLA_WATCH, near + timedelta(minutes=1)),
        (DELIVER, near),
        (SLA_WATCH, late),
        (SLA_WATCH, late),
        (DELIVER, late),
        (DELIVER, late),
    )
    assert robots.titles("qyapi.test") == [
        "### 待您审批：campus festival sponsorship",
        "### 审批即将超时：campus festival sponsorship",
    ]
    assert robots.titles("oapi.test") == [
        "Overdue approval escalated to you: campus festival sponsorship"
    ]


async def test_a_robot_refusal_is_retried_with_back_off_and_logged(
    approvals_client: httpx.AsyncClient, settings: Settings, robots: Robots
) -> None:
    await _choose_channels(approvals_client)
    filed = await _file(approvals_client)
    now = datetime.now(UTC)
    robots.refusals.append({"errcode": 45009, "errmsg": "api freq out of limit"})
    await _run(
        settings,
        (DELIVER, now),
        (DELIVER, now + timedelta(seconds=29)),
        (DELIVER, now + timedelta(seconds=30)),
    )
    assert len(robots.titles("qyapi.test")) == 1
    log = await approvals_client.get(
        f"/approvals/requests/{filed['id']}/notices", headers=bearer(Role.ADMIN)
    )
    ((attempts, status),) = [(n["attempts"], n["status"]) for n in log.json()["items"]]
    assert status == "sent"
    assert [a["outcome"] for a in attempts] == [
        "HTTP 200, errcode 45009: api freq out of limit",
        "HTTP 200, errcode 0",
    ]


async def test_a_person_without_a_channel_hears_nothing_and_a_bad_channel_is_refused(
    approvals_client: httpx.AsyncClient, settings: Settings, robots: Robots
) -> None:
    await _file(approvals_client)
    await _run(settings, (DELIVER, datetime.now(UTC)))
    assert robots.received == []
    missing = await approvals_client.get("/approvals/notice-preferences/me", headers=WANG)
    assert missing.status_code == 404
    bad = await approvals_client.put(
        "/approvals/notice-preferences/me",
        json={"kind": "wecom", "url": "http://qyapi.test/x", "secret": "s" * 16},
        headers=WANG,
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert "no secret" in bad.text


async def test_a_delegate_standing_in_for_the_stage_role_is_told_too(
    approvals_client: httpx.AsyncClient, settings: Settings, robots: Robots
) -> None:
    now = datetime.now(UTC)
    window = {
        "delegate": "specialist-deputy",
        "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(days=2)).isoformat(),
    }
    lent = await approvals_client.post("/approvals/delegations", json=window, headers=WANG)
    assert lent.status_code == 201, lent.text
    deputy = bearer(Role.SPECIALIST, "specialist-deputy")
    feishu = {"kind": "feishu", "url": "http://open.test/open-apis/bot/v2/hook/d", "language": "en"}
    chosen = await approvals_client.put(
        "/approvals/notice-preferences/me", json=feishu, headers=deputy
    )
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["roles"] == ["specialist"]  # the lent role is not theirs to keep
    filed = await _file(approvals_client)
    await _run(settings, (DELIVER, datetime.now(UTC)))
    log = await approvals_client.get(
        f"/approvals/requests/{filed['id']}/notices", headers=bearer(Role.ADMIN)
    )
    assert [(n["person"], n["status"]) for n in log.json()["items"]] == [
        ("specialist-deputy", "sent")
    ]
    ((request,),) = [[r for r in robots.received if r.url.host == "open.test"]]
    card = json.loads(request.content)["card"]
    assert card["header"]["title"]["content"] == (
        "Waiting for your approval: campus festival sponsorship"
    )
