"""The router in front of the service processes: requests pass through unchanged, a replica
that refuses connections is skipped, and with none left the answer is a problem, not a hang."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from demo.harness import serving
from distributed.router import Router
from tests.e2e.conftest import free_port


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A replica that answers 207 with what it received, and a header of its own."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    seen = {
        "method": scope["method"],
        "path": scope["path"],
        "query": scope["query_string"].decode(),
        "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
        "body": body.decode(),
    }
    await send(
        {
            "type": "http.response.start",
            "status": 207,
            "headers": [(b"content-type", b"application/json"), (b"etag", b'"7"')],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(seen).encode()})


@pytest.fixture
def replica() -> Iterator[str]:
    port = free_port()
    with serving(echo, port):
        yield f"http://127.0.0.1:{port}"


async def through(router: Router, method: str, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=router)
    async with httpx.AsyncClient(transport=transport, base_url="http://router") as http:
        return await http.request(method, path, **kwargs)


async def test_a_request_reaches_the_replica_unchanged_and_its_answer_comes_back(
    replica: str,
) -> None:
    router = Router({"planning": [replica]})
    answer = await through(
        router,
        "PUT",
        "/planning/plans/42/budget?dry_run=true",
        content=b'[{"amount": "1.00"}]',
        headers={"authorization": "Bearer t", "if-match": '"6"', "content-type": "text/plain"},
    )
    assert (answer.status_code, answer.headers["etag"]) == (207, '"7"')
    seen = answer.json()
    assert (seen["method"], seen["path"], seen["query"], seen["body"]) == (
        "PUT",
        "/planning/plans/42/budget",
        "dry_run=true",
        '[{"amount": "1.00"}]',
    )
    assert seen["headers"]["authorization"] == "Bearer t"
    assert seen["headers"]["if-match"] == '"6"'
    assert seen["headers"]["content-type"] == "text/plain"


async def test_a_replica_that_refuses_connections_is_skipped_even_for_a_post(
    replica: str,
) -> None:
    gone = f"http://127.0.0.1:{free_port()}"  # nothing listens: a replica that was killed
    router = Router({"alerts": [gone, replica]})
    for _ in range(3):  # whichever replica's turn it is, the live one answers
        answer = await through(router, "POST", "/alerts/rules", json={"name": "r"})
        assert answer.status_code == 207
        assert answer.json()["body"] == '{"name":"r"}'


async def test_with_no_replica_answering_the_router_says_so_in_a_problem() -> None:
    gone = f"http://127.0.0.1:{free_port()}"
    router = Router({"tasks": [gone]})
    answer = await through(router, "GET", "/tasks/plans")
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"].startswith("no replica of tasks answered")
    unknown = await through(router, "GET", "/nowhere/at/all")
    assert unknown.status_code == 404
    assert "/tasks/" in unknown.json()["detail"]
