"""A validly signed body that is no batch is refused with a 4xx naming why, never a 500."""

from __future__ import annotations

import httpx

from shared.contract.types import Role
from tests.conftest import bearer
from tests.metrics.helpers import post, register

DEPTH = 1000


async def test_deeply_nested_json_in_a_signed_webhook_is_a_422(
    metrics_client: httpx.AsyncClient,
) -> None:
    source, secret = await register(metrics_client)
    for body in (
        b"[" * DEPTH + b"]" * DEPTH,
        b'{"rows": ' + b"[" * DEPTH + b"]" * DEPTH + b"}",
        b'{"rows": [' + b'{"a": ' * DEPTH + b"1" + b"}" * DEPTH + b"]}",
    ):
        refused = await post(metrics_client, source, secret, body)
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["rule"] == "valid-batch"
        assert "nothing was stored" in problem["detail"]


async def test_deeply_nested_json_on_a_json_route_is_a_4xx_naming_the_body(
    planning_client: httpx.AsyncClient,
) -> None:
    nested = b'{"name": ' + b"[" * DEPTH + b"]" * DEPTH + b"}"
    refused = await planning_client.post(
        "/planning/plans",
        content=nested,
        headers={**bearer(Role.SPECIALIST), "content-type": "application/json"},
    )
    assert 400 <= refused.status_code < 500, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "parsing the body" in refused.json()["detail"]
