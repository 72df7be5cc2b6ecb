"""Authentication and roles on a protected route of every service."""

from __future__ import annotations

from datetime import timedelta

import httpx
import jwt
import pytest

from allinone.app import DEFINITIONS
from shared.contract.types import Role
from shared.kit.settings import Settings
from shared.kit.tokens import mint_token
from tests.conftest import bearer

SERVICES = [d.name for d in DEFINITIONS]


@pytest.mark.parametrize("service", SERVICES)
async def test_no_token_is_401_with_a_problem(client: httpx.AsyncClient, service: str) -> None:
    response = await client.get(f"/{service}/dead-letters")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["type"] == "/problems/unauthenticated"


@pytest.mark.parametrize("service", SERVICES)
async def test_a_role_without_the_permission_is_403(
    client: httpx.AsyncClient, service: str
) -> None:
    response = await client.get(f"/{service}/dead-letters", headers=bearer(Role.SPECIALIST))
    assert response.status_code == 403
    assert "tech" in response.json()["detail"]


@pytest.mark.parametrize("service", SERVICES)
async def test_the_right_role_gets_through(client: httpx.AsyncClient, service: str) -> None:
    response = await client.get(f"/{service}/dead-letters", headers=bearer(Role.TECH))
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


async def test_finance_may_not_create_a_plan(client: httpx.AsyncClient) -> None:
    plan = {"name": "n", "product": "p", "starts_on": "2024-05-01", "ends_on": "2024-05-02"}
    response = await client.post("/planning/plans", json=plan, headers=bearer(Role.FINANCE))
    assert response.status_code == 403


def _forged(settings: Settings, **changes: object) -> str:
    claims = jwt.decode(
        mint_token("eve", [Role.ADMIN], settings), options={"verify_signature": False}
    )
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(
            lambda _s: jwt.encode({"sub": "eve", "roles": ["admin"]}, key="", algorithm="none"),
            id="alg-none",
        ),
        pytest.param(
            lambda _s: jwt.encode({"sub": "eve"}, "another-key-" * 4, algorithm="HS256"),
            id="wrong-key",
        ),
        pytest.param(
            lambda s: mint_token("eve", [Role.ADMIN], s, ttl=timedelta(seconds=-5)), id="expired"
        ),
        pytest.param(lambda s: _forged(s, aud="someone-else"), id="wrong-audience"),
        pytest.param(lambda s: _forged(s, exp=None), id="no-exp"),
        pytest.param(lambda s: _forged(s, roles=["emperor"]), id="unknown-role"),
    ],
)
async def test_bad_tokens_are_401(client: httpx.AsyncClient, token: object) -> None:
    forged = token(Settings())  # type: ignore[operator]
    response = await client.get("/planning/plans", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401, response.text
