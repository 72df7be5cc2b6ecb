"""Alerts reach people where they are: WeCom, DingTalk and Feishu robots and email, in the
channel's language, with a clear resolved message; a robot's refusal is retried."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.alerts import configuration, jobs
from services.alerts.models import Notification
from services.alerts.schemas import ChannelIn
from shared.kit.settings import Settings
from tests.alerts.scenario import PLAN, T0, alerts_of, ctr, run
from tests.smtp_server import Mailbox, smtp_server

__all__ = ["smtp_server"]


class Robots:
    """Local robot endpoints answering like the platforms; ``refusals`` come first."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, dict[str, Any]]] = []
        self.refusals: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.refusals:
            return httpx.Response(200, json=self.refusals.pop(0))
        self.bodies.append((request.url.host, json.loads(request.content)))
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "code": 0})


@pytest.fixture
def robots() -> Iterator[Robots]:
    endpoint = Robots()
    jobs.TRANSPORT = httpx.MockTransport(endpoint)
    yield endpoint
    jobs.TRANSPORT = None


async def _put(sessions: async_sessionmaker[AsyncSession], **fields: object) -> None:
    async with sessions() as session, session.begin():
        await configuration.put_channel(
            session,
            "default",
            ChannelIn.model_validate(
                {"group_wait_seconds": 0, "group_interval_seconds": 0, **fields}
            ),
        )


async def test_a_wecom_channel_gets_the_alert_and_its_resolution_in_chinese(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], robots: Robots
) -> None:
    await _put(sessions, kind="wecom", url="http://qyapi.test/cgi-bin/webhook/send?key=k1")
    await run(sessions, ctr("0.011"), T0)
    await run(sessions, jobs.deliver, T0)
    (alert,) = await alerts_of(engine)
    ((host, firing),) = robots.bodies
    assert host == "qyapi.test"
    content = firing["markdown"]["content"]
    assert content.splitlines()[0] == "### 【警告】告警触发：ctr 0.011 against 0.015 expected"
    assert "**级别**: 警告" in content
    assert f"**计划**: {PLAN}" in content
    assert f"[查看告警](http://localhost:8000/alerts/alerts/{alert.id})" in content

    await run(sessions, ctr("0.016"), T0 + timedelta(minutes=5))
    await run(sessions, jobs.deliver, T0 + timedelta(minutes=5))
    resolved = robots.bodies[1][1]["markdown"]["content"]
    assert resolved.splitlines()[0] == "### 已恢复：ctr 0.016 against 0.015 expected"


async def test_a_dingtalk_refusal_in_an_http_200_is_logged_and_retried_with_backoff(
    sessions: async_sessionmaker[AsyncSession], robots: Robots
) -> None:
    await _put(
        sessions,
        kind="dingtalk",
        url="http://oapi.test/robot/send?access_token=t",
        secret="SEC0123456789abcdef",
        language="en",
    )
    await run(sessions, ctr("0.011"), T0)
    robots.refusals.append({"errcode": 310000, "errmsg": "sign not match"})
    await run(sessions, jobs.deliver, T0)
    assert robots.bodies == []
    await run(sessions, jobs.deliver, T0 + timedelta(seconds=29))  # back-off: not yet
    assert robots.bodies == []
    await run(sessions, jobs.deliver, T0 + timedelta(seconds=30))
    ((_host, body),) = robots.bodies
    assert body["markdown"]["title"] == "[warning] Alert firing: ctr 0.011 against 0.015 expected"
    async with sessions() as session:
        (note,) = await session.scalars(select(Notification))
    assert note.status == "sent"
    assert [a["outcome"] for a in note.attempts] == [
        "HTTP 200, errcode 310000: sign not match",
        "HTTP 200, errcode 0",
    ]


async def test_a_feishu_channel_gets_a_red_card_then_a_green_one_when_the_alert_resolves(
    sessions: async_sessionmaker[AsyncSession], robots: Robots
) -> None:
    await _put(sessions, kind="feishu", url="http://open.test/open-apis/bot/v2/hook/h")
    await run(sessions, ctr("0.011"), T0)
    await run(sessions, jobs.deliver, T0)
    await run(sessions, ctr("0.016"), T0 + timedelta(minutes=5))
    await run(sessions, jobs.deliver, T0 + timedelta(minutes=5))
    (_, fired), (_, resolved) = robots.bodies
    assert "sign" not in fired  # this bot has no signature check configured
    assert [c["card"]["header"]["template"] for c in (fired, resolved)] == ["red", "green"]
    assert (
        resolved["card"]["header"]["title"]["content"] == "已恢复：ctr 0.016 against 0.015 expected"
    )


async def test_an_email_channel_mails_its_recipients_and_retries_a_refusing_server(
    sessions: async_sessionmaker[AsyncSession], smtp_server: Mailbox
) -> None:
    await _put(sessions, kind="email", recipients=["li@example.cn"], language="en")
    settings = Settings(smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_security="none")
    await run(sessions, ctr("0.011"), T0)
    smtp_server.refuse = True
    async with sessions() as session, session.begin():
        await jobs.deliver(session, T0, settings)
    smtp_server.refuse = False
    async with sessions() as session, session.begin():
        await jobs.deliver(session, T0 + timedelta(seconds=30), settings)
    (mail,) = smtp_server.mails()
    assert mail["To"] == "li@example.cn"
    assert mail["Subject"] == "[warning] Alert firing: ctr 0.011 against 0.015 expected"
    async with sessions() as session:
        (note,) = await session.scalars(select(Notification))
    assert note.status == "sent"
    assert note.attempts[0]["outcome"].startswith("SMTPDataError")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"kind": "email"}, "email names its recipients"),
        ({"kind": "email", "recipients": ["a@b.cn"], "url": "http://x.test/"}, "not a url"),
        ({"kind": "wecom"}, "wecom needs its url"),
        ({"kind": "wecom", "url": "http://x.test/", "secret": "s" * 16}, "no secret"),
        ({"kind": "feishu", "url": "http://x.test/", "recipients": ["a@b.cn"]}, "only email has"),
    ],
)
def test_a_channel_refuses_fields_its_kind_does_not_use(
    fields: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        ChannelIn.model_validate(fields)
