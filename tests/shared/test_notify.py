"""Each platform's format and signature, checked against its documented algorithm computed here
independently; email against a real SMTP server (aiosmtpd) started by the test."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
import pytest

from shared.kit.notify import Message, Target, send
from shared.kit.notify.targets import stored_secrets
from shared.kit.notify.texts import CATALOGUES, text
from shared.kit.settings import Settings
from tests.smtp_server import Mailbox, smtp_server

__all__ = ["smtp_server"]

NOW = datetime(2024, 6, 7, 9, 0, 5, tzinfo=UTC)
MESSAGE = Message(
    message_id="msg_1",
    title="【严重】告警触发：ctr 0.011 against 0.015 expected",
    fields=[("摘要", "ctr 0.011 against 0.015 expected"), ("级别", "严重"), ("计划", "618")],
    link="http://cp.example.cn/alerts/alerts/42",
    link_text="查看告警",
    data={"status": "firing"},
)


class Robot:
    """A local robot endpoint that answers like the platform, with a chosen code."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json=self.answer)

    def body(self) -> dict[str, Any]:
        (request,) = self.requests
        parsed: dict[str, Any] = json.loads(request.content)
        return parsed


async def _send(robot: Robot, target: Target, settings: Settings | None = None) -> tuple[bool, str]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(robot)) as client:
        outcome = await send(client, target, MESSAGE, NOW, settings or Settings())
    return outcome.delivered, outcome.detail


async def test_wecom_gets_a_markdown_message_at_its_key_url() -> None:
    robot = Robot({"errcode": 0, "errmsg": "ok"})
    url = "http://qyapi.test/cgi-bin/webhook/send?key=693a91f6"
    assert (await _send(robot, Target("wecom", url)))[0]
    assert str(robot.requests[0].url) == url  # no signature: the key is the credential
    body = robot.body()
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert content.startswith("### 【严重】告警触发：ctr 0.011 against 0.015 expected")
    assert "**计划**: 618" in content
    assert "[查看告警](http://cp.example.cn/alerts/alerts/42)" in content


async def test_dingtalk_signs_timestamp_and_secret_in_the_url() -> None:
    robot = Robot({"errcode": 0, "errmsg": "ok"})
    secret = "SEC0123456789abcdef"
    target = Target("dingtalk", "http://oapi.test/robot/send?access_token=t0k", (secret,))
    assert (await _send(robot, target))[0]
    query = parse_qs(robot.requests[0].url.query.decode(), keep_blank_values=True)
    assert query["access_token"] == ["t0k"]
    assert query["timestamp"] == ["1717750805000"]  # milliseconds of NOW
    # DingTalk's documented algorithm: HMAC-SHA256(key=secret, "timestamp\nsecret"), base64.
    expected = base64.b64encode(
        hmac.new(secret.encode(), b"1717750805000\n" + secret.encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == [expected]
    raw_sign = robot.requests[0].url.query.decode().split("sign=")[1]
    assert unquote(raw_sign) == expected
    assert "+" not in raw_sign
    body = robot.body()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == MESSAGE.title
    assert "**摘要**: ctr 0.011 against 0.015 expected" in body["markdown"]["text"]


async def test_feishu_sends_a_card_signed_with_timestamp_and_secret_as_the_key() -> None:
    robot = Robot({"code": 0, "msg": "success", "data": {}})
    secret = "feishu-secret-0123"
    assert (await _send(robot, Target("feishu", "http://open.test/bot/v2/hook/x", (secret,))))[0]
    body = robot.body()
    assert body["timestamp"] == "1717750805"  # seconds of NOW
    # Feishu's documented algorithm: HMAC-SHA256 keyed with "timestamp\nsecret" over nothing.
    key = b"1717750805\n" + secret.encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["msg_type"] == "interactive"
    card = body["card"]
    assert card["header"]["title"]["content"] == MESSAGE.title
    assert card["header"]["template"] == "red"
    assert "**级别**: 严重" in card["elements"][0]["content"]
    (button,) = card["elements"][1]["actions"]
    assert button["url"] == "http://cp.example.cn/alerts/alerts/42"


@pytest.mark.parametrize(
    ("kind", "answer", "detail"),
    [
        ("wecom", {"errcode": 93000, "errmsg": "invalid webhook url"}, "errcode 93000"),
        ("dingtalk", {"errcode": 310000, "errmsg": "sign not match"}, "errcode 310000"),
        ("feishu", {"code": 19021, "msg": "sign match fail"}, "code 19021"),
    ],
)
async def test_a_robot_refusal_in_an_http_200_is_a_failed_attempt(
    kind: str, answer: dict[str, Any], detail: str
) -> None:
    target = Target(kind, "http://robot.test/send", ("s",))  # type: ignore[arg-type]
    delivered, said = await _send(Robot(answer), target)
    assert not delivered
    assert said.startswith(f"HTTP 200, {detail}")


async def test_an_unreachable_robot_is_a_failed_attempt_not_an_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        outcome = await send(
            client, Target("wecom", "http://robot.test/"), MESSAGE, NOW, Settings()
        )
    assert not outcome.delivered
    assert outcome.detail == "ConnectError: connection refused"


async def test_email_reaches_a_real_smtp_server(smtp_server: Mailbox) -> None:
    settings = Settings(
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_security="none",
        smtp_sender="cp@example.cn",
    )
    target = Target("email", recipients=("li@example.cn", "wang@example.cn"))
    async with httpx.AsyncClient() as client:
        outcome = await send(client, target, MESSAGE, NOW, settings)
    assert outcome.delivered, outcome.detail
    (envelope,) = smtp_server.envelopes
    assert envelope.mail_from == "cp@example.cn"
    assert envelope.rcpt_tos == ["li@example.cn", "wang@example.cn"]
    (mail,) = smtp_server.mails()
    assert mail["Subject"] == MESSAGE.title
    body = mail.get_body().get_content()  # type: ignore[union-attr]
    assert "计划: 618" in body
    assert "查看告警: http://cp.example.cn/alerts/alerts/42" in body


async def test_email_without_a_server_configured_is_a_failed_attempt() -> None:
    target = Target("email", recipients=("li@example.cn",))
    async with httpx.AsyncClient() as client:
        outcome = await send(client, target, MESSAGE, NOW, Settings(smtp_host=None))
    assert (outcome.delivered, outcome.detail) == (False, "SMTP_HOST is not set")


def test_both_languages_have_every_text_with_the_same_placeholders() -> None:
    def placeholders(template: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}

    english, chinese = CATALOGUES["en"], CATALOGUES["zh-CN"]
    assert english.keys() == chinese.keys()
    assert {k: placeholders(v) for k, v in english.items()} == {
        k: placeholders(v) for k, v in chinese.items()
    }
    assert text("zh-CN", "alert.resolved", summary="ctr") == "已恢复：ctr"
    assert text("en", "alert.resolved", summary="ctr") == "Resolved: ctr"
    assert text("fr", "approval.inbox", title="x") == "Waiting for your approval: x"


def test_a_secret_stored_before_standard_webhooks_stays_whole() -> None:
    assert stored_secrets("an old secret with spaces") == ("an old secret with spaces",)
    assert stored_secrets("whsec_bmV3 whsec_b2xk") == ("whsec_bmV3", "whsec_b2xk")
    assert stored_secrets("") == ()
