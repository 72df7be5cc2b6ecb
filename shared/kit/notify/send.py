"""One entry point: send a message to a target of any kind."""

from __future__ import annotations

from datetime import datetime

import httpx

from shared.kit.notify import dingtalk, email, feishu, webhook, wecom
from shared.kit.notify.message import Message, Outcome, Target
from shared.kit.settings import Settings


async def send(
    client: httpx.AsyncClient,
    target: Target,
    message: Message,
    now: datetime,
    settings: Settings,
) -> Outcome:
    """Deliver once; a network error is an outcome (a failed attempt), never an exception."""
    try:
        match target.kind:
            case "webhook":
                return await webhook.send(client, target, message, now)
            case "wecom":
                return await wecom.send(client, target, message)
            case "dingtalk":
                return await dingtalk.send(client, target, message, now)
            case "feishu":
                return await feishu.send(client, target, message, now)
            case "email":
                return await email.send(message, target, settings)
    except httpx.HTTPError as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}")
