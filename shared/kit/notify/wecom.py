"""WeCom (企业微信) group robot: a markdown message to the robot's webhook URL.

The URL carries the robot's ``key``; WeCom robots have no signature. The answer is
``{"errcode": 0, "errmsg": "ok"}`` on success.
"""

from __future__ import annotations

from typing import Any

import httpx

from shared.kit.notify import robots
from shared.kit.notify.message import Message, Outcome, Target


def body(message: Message) -> dict[str, Any]:
    """The robot's markdown message."""
    return {"msgtype": "markdown", "markdown": {"content": message.markdown()}}


async def send(client: httpx.AsyncClient, target: Target, message: Message) -> Outcome:
    """Post to the robot; a non-zero ``errcode`` is a failed attempt."""
    return await robots.post(client, target.address, body(message), "errcode")
