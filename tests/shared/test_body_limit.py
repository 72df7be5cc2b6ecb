"""An oversized body is refused with a 413 problem before it is read, declared or chunked."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx

from services.metrics.sources.api import MAX_BODY as WEBHOOK_CAP
from shared.contract.types import Role
from shared.kit.body_limit import DEFAULT_MAX_BODY
from tests.conftest import bearer

CHUNK = 64 * 1024
FIFTY_MB = 50 * 1024 * 1024


class Sender:
    """A client body of ``total`` bytes, counting how much of it the server asked for."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.pulled = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        while self.pulled < self.total:
            self.pulled += CHUNK
            yield b" " * CHUNK


def _assert_too_large(answer: httpx.Response, cap: int) -> None:
    assert answer.status_code == 413, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"] == "/problems/payload-too-large"
    assert problem["limit"] == cap


async def test_a_declared_length_over_the_cap_is_refused_unread(
    client: httpx.AsyncClient,
) -> None:
    sender = Sender(FIFTY_MB)
    headers = {
        **bearer(Role.SPECIALIST),
        "content-type": "application/json",
        "content-length": str(FIFTY_MB),
    }
    answer = await client.post("/planning/plans", content=sender.chunks(), headers=headers)
    _assert_too_large(answer, DEFAULT_MAX_BODY)
    assert sender.pulled == 0


async def test_a_chunked_body_is_cut_off_at_the_cap(client: httpx.AsyncClient) -> None:
    sender = Sender(FIFTY_MB)
    headers = {**bearer(Role.SPECIALIST), "content-type": "application/json"}
    answer = await client.post("/planning/plans", content=sender.chunks(), headers=headers)
    _assert_too_large(answer, DEFAULT_MAX_BODY)
    # 1 MiB is 16 chunks: the 17th passes the cap, and nothing after it is asked for.
    assert sender.pulled == DEFAULT_MAX_BODY + CHUNK


async def test_a_route_without_a_body_refuses_a_declared_one_too(
    client: httpx.AsyncClient,
) -> None:
    sender = Sender(FIFTY_MB)
    headers = {**bearer(Role.SALES), "content-length": str(FIFTY_MB)}
    answer = await client.request(
        "GET", "/planning/plans", content=sender.chunks(), headers=headers
    )
    _assert_too_large(answer, DEFAULT_MAX_BODY)
    assert sender.pulled == 0


async def test_the_webhook_keeps_its_larger_cap(client: httpx.AsyncClient) -> None:
    source = uuid.uuid4()
    json_body = {"content-type": "application/json"}
    under = Sender(2 * DEFAULT_MAX_BODY)
    answer = await client.post(
        f"/metrics/webhooks/{source}", content=under.chunks(), headers=json_body
    )
    assert answer.status_code != 413
    assert under.pulled == 2 * DEFAULT_MAX_BODY  # read whole: it is within the webhook's cap
    over = Sender(FIFTY_MB)
    answer = await client.post(
        f"/metrics/webhooks/{source}", content=over.chunks(), headers=json_body
    )
    _assert_too_large(answer, WEBHOOK_CAP)
    assert over.pulled == WEBHOOK_CAP + CHUNK
