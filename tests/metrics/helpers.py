"""Registering a source and posting signed batches to it, as an ad platform does."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx

from services.metrics.signatures import sign
from shared.contract.types import Role
from tests.conftest import bearer

TECH = bearer(Role.TECH, "data-ops")


async def register(client: httpx.AsyncClient, platform: str = "internal") -> tuple[str, str]:
    """A new source's id and its first secret."""
    created = await client.post(
        "/metrics/sources",
        json={"name": f"{platform} account", "platform": platform, "account_id": "act_1"},
        headers=TECH,
    )
    assert created.status_code == 201, created.text
    source = created.json()
    return source["id"], source["secrets"][0]["secret"]


async def post(
    client: httpx.AsyncClient,
    source_id: str,
    secret: str,
    payload: dict[str, Any] | bytes,
    *,
    delivery_id: str | None = None,
    sent_at: int | None = None,
    tamper: bool = False,
) -> httpx.Response:
    """POST a batch signed the Standard Webhooks way."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    delivery_id = delivery_id or f"msg_{uuid.uuid4().hex}"
    sent_at = sent_at if sent_at is not None else int(time.time())
    signature = sign(secret, delivery_id, sent_at, body)
    return await client.post(
        f"/metrics/webhooks/{source_id}",
        content=body + (b" " if tamper else b""),
        headers={
            "content-type": "application/json",
            "webhook-id": delivery_id,
            "webhook-timestamp": str(sent_at),
            "webhook-signature": signature,
        },
    )


def canonical(report_time: str, *rows: tuple[str, str, str, str]) -> dict[str, Any]:
    """A batch in the canonical format: (entity, day, metric, value) rows."""
    return {
        "format": "canonical",
        "report_time": report_time,
        "rows": [{"entity": e, "day": d, "metric": m, "value": v} for e, d, m, v in rows],
    }
