"""Generic webhooks, signed as Standard Webhooks (https://www.standardwebhooks.com/).

``webhook-signature`` carries ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` once per active
secret (newest first), so a receiver keeps verifying while a secret is rotated. The id stays the
same on every retry of one message, which is what lets a receiver drop duplicates; the timestamp
bounds a replay to the receiver's tolerance window.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime

import httpx

from shared.kit.notify.message import Message, Outcome, Target

PREFIX = "whsec_"


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret.

    A secret stored before channels used Standard Webhooks has no prefix and is its own bytes.
    """
    if secret.startswith(PREFIX):
        return base64.b64decode(secret.removeprefix(PREFIX))
    return secret.encode()


def is_standard_secret(secret: str) -> bool:
    """``whsec_`` then base64 of 24 to 64 random bytes, as the specification recommends."""
    if not secret.startswith(PREFIX):
        return False
    try:
        key = base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return False
    return 24 <= len(key) <= 64


def signature(secrets: tuple[str, ...], message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: one ``v1,…`` per secret, space separated."""
    content = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(secret_key(s), content, hashlib.sha256).digest()).decode()
        for s in secrets
    )


async def send(
    client: httpx.AsyncClient, target: Target, message: Message, now: datetime
) -> Outcome:
    """POST the message's data as JSON; any 2xx is delivered."""
    body = json.dumps(message.data, sort_keys=True).encode()
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        "webhook-id": message.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(target.secrets, message.message_id, timestamp, body),
    }
    answer = await client.post(target.address, content=body, headers=headers)
    return Outcome(answer.is_success, f"HTTP {answer.status_code}")
