"""Standard Webhooks signatures: HMAC-SHA256 over ``id.timestamp.body``, several secrets at once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as random_secrets
from collections.abc import Iterable
from datetime import datetime


class SignatureInvalid(Exception):
    """The request is not from the source, or is a replay; the reason is safe to show."""


def new_secret() -> str:
    """A fresh secret in the Standard Webhooks form ``whsec_<base64>``."""
    return "whsec_" + base64.b64encode(random_secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature a sender puts in ``webhook-signature``."""
    content = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    secrets: Iterable[str],
    *,
    delivery_id: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: datetime,
    tolerance_seconds: int = 300,
) -> None:
    """Accept when any active secret signed exactly these bytes within the tolerance window."""
    if not (delivery_id and timestamp and signature):
        raise SignatureInvalid("webhook-id, webhook-timestamp and webhook-signature are required")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureInvalid("webhook-timestamp is not a Unix time") from None
    if abs(now.timestamp() - sent_at) > tolerance_seconds:
        raise SignatureInvalid(f"webhook-timestamp is outside the {tolerance_seconds} s window")
    offered = [part.split(",", 1)[1] for part in signature.split() if part.startswith("v1,")]
    for secret in secrets:
        expected = sign(secret, delivery_id, sent_at, body).split(",", 1)[1]
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return
    raise SignatureInvalid("no signature matches an active secret of this source")
