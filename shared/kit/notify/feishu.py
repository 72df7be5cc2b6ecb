"""Feishu (飞书) custom bot: an interactive card, signed in the body.

The signature is HMAC-SHA256 with ``"{timestamp}\\n{secret}"`` as the *key* over an empty
message, base64 encoded; ``timestamp`` (seconds, as a string) and ``sign`` go in the JSON body.
The answer is ``{"code": 0, …}`` on success.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any

import httpx

from shared.kit.notify import robots
from shared.kit.notify.message import Message, Outcome, Target


def sign(secret: str, timestamp: int) -> str:
    """The ``sign`` field for a timestamp in seconds."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def body(message: Message, secrets: tuple[str, ...], now: datetime) -> dict[str, Any]:
    """An interactive card: a coloured header (green once resolved) and the fields as markdown."""
    lines = [f"**{label}**: {value}" for label, value in message.fields]
    elements: list[dict[str, Any]] = [{"tag": "markdown", "content": "\n".join(lines)}]
    if message.link:
        elements.append(
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "text": {"tag": "plain_text", "content": message.link_text or "Open"},
                        "type": "primary",
                        "url": message.link,
                    }
                ],
            }
        )
    card = {
        "config": {"wide_screen_mode": True},
        "header": {
            "title": {"tag": "plain_text", "content": message.title},
            "template": "green" if message.resolved else "red",
        },
        "elements": elements,
    }
    signed: dict[str, Any] = {}
    if secrets and secrets[0]:
        timestamp = int(now.timestamp())
        signed = {"timestamp": str(timestamp), "sign": sign(secrets[0], timestamp)}
    return {**signed, "msg_type": "interactive", "card": card}


async def send(
    client: httpx.AsyncClient, target: Target, message: Message, now: datetime
) -> Outcome:
    """Post the card; a non-zero ``code`` is a failed attempt."""
    return await robots.post(client, target.address, body(message, target.secrets, now), "code")
