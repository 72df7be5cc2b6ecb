"""DingTalk (钉钉) custom robot: a markdown message, signed in the URL ("加签").

The signature is HMAC-SHA256 with the robot's ``SEC…`` secret as key over
``"{timestamp}\\n{secret}"`` (timestamp in milliseconds), base64 encoded, then URL encoded, and
sent as the ``timestamp`` and ``sign`` query parameters. The answer is ``{"errcode": 0, …}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

import httpx

from shared.kit.notify import robots
from shared.kit.notify.message import Message, Outcome, Target


def sign(secret: str, timestamp_ms: int) -> str:
    """The URL-encoded ``sign`` parameter."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return quote_plus(base64.b64encode(digest).decode())


def signed_url(url: str, secrets: tuple[str, ...], now: datetime) -> str:
    """The robot URL with ``timestamp`` and ``sign`` added (unchanged without a secret)."""
    if not secrets or not secrets[0]:
        return url
    timestamp_ms = int(now.timestamp() * 1000)
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={sign(secrets[0], timestamp_ms)}"


def body(message: Message) -> dict[str, Any]:
    """The robot's markdown message (its title is what the chat list shows)."""
    return {"msgtype": "markdown", "markdown": {"title": message.title, "text": message.markdown()}}


async def send(
    client: httpx.AsyncClient, target: Target, message: Message, now: datetime
) -> Outcome:
    """Post to the signed URL; a non-zero ``errcode`` is a failed attempt."""
    url = signed_url(target.address, target.secrets, now)
    return await robots.post(client, url, body(message), "errcode")
