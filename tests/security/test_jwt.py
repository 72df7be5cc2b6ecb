"""OWASP API2:2023 Broken Authentication: the bearer JWT, one defect at a time.

tests/shared/test_auth.py already sends alg=none, a wrong key, expired, wrong-audience and
no-exp tokens, but its alg=none and wrong-key tokens also lack iss/aud/exp, so they would be
refused for the missing claims even if the algorithm or signature check were gone. Here every
bad token is a *complete, otherwise valid* admin token with exactly one thing wrong, and a
control token proves the same request succeeds when nothing is wrong.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from shared.kit.settings import Settings
from tests.security.conftest import Stack

URL = "/approvals/workflows/plan"  # any authenticated GET; admin-only checks are elsewhere
SETTINGS = Settings()
WRONG_KEY = "not-the-deployment-secret-but-long-enough-" * 2


def _claims(**changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": "eve",
        "roles": ["admin"],
        "iss": SETTINGS.jwt_issuer,
        "aud": SETTINGS.jwt_audience,
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(claims: dict[str, Any], *, key: str | None = None, alg: str = "HS256") -> str:
    return jwt.encode(claims, key or SETTINGS.jwt_secret, algorithm=alg)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(claims: dict[str, Any], alg: str) -> str:
    """header.payload. with an empty signature (alg none / None / NONE …)."""
    header = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims, default=lambda d: int(d.timestamp())).encode())
    return f"{header}.{body}."


def _tampered() -> str:
    """A real token whose payload was edited to grant admin after signing."""
    token = _signed(_claims(roles=["sales"]))
    header, _payload, signature = token.split(".")
    body = _b64(json.dumps(_claims(), default=lambda d: int(d.timestamp())).encode())
    return f"{header}.{body}.{signature}"


def _stripped() -> str:
    header, payload, _signature = _signed(_claims()).split(".")
    return f"{header}.{payload}."


BAD: dict[str, Callable[[], str]] = {
    "alg-none": lambda: _unsigned(_claims(), "none"),
    "alg-None": lambda: _unsigned(_claims(), "None"),
    "alg-NONE": lambda: _unsigned(_claims(), "NONE"),
    "signature-stripped": _stripped,
    "payload-tampered": _tampered,
    "wrong-key": lambda: _signed(_claims(), key=WRONG_KEY),
    "alg-HS384-not-allowed": lambda: _signed(_claims(), alg="HS384"),
    "alg-HS512-not-allowed": lambda: _signed(_claims(), alg="HS512"),
    "expired": lambda: _signed(_claims(exp=datetime.now(UTC) - timedelta(seconds=5))),
    "not-yet-valid-nbf": lambda: _signed(_claims(nbf=datetime.now(UTC) + timedelta(hours=1))),
    "issued-in-the-future": lambda: _signed(_claims(iat=datetime.now(UTC) + timedelta(hours=1))),
    "wrong-audience": lambda: _signed(_claims(aud="someone-else")),
    "wrong-issuer": lambda: _signed(_claims(iss="evil-idp")),
    "no-exp": lambda: _signed(_claims(exp=None)),
    "no-aud": lambda: _signed(_claims(aud=None)),
    "no-iss": lambda: _signed(_claims(iss=None)),
    "no-sub": lambda: _signed(_claims(sub=None)),
    "non-string-sub": lambda: _signed(_claims(sub=42)),
    "unknown-role": lambda: _signed(_claims(roles=["emperor"])),
    "roles-a-string": lambda: _signed(_claims(roles="admin")),
    # A signed token from a misbehaving IdP must be a 401 too, not a 500.
    "roles-a-number": lambda: _signed(_claims(roles=7)),
    "roles-null": lambda: _signed({**_claims(), "roles": None}),
    "roles-an-object": lambda: _signed(_claims(roles={"admin": True})),
    "garbage": lambda: "not.a.jwt",
    "empty-segments": lambda: "..",
}


async def test_the_control_token_is_accepted(stack: Stack) -> None:
    got = await stack.client.get(URL, headers={"Authorization": f"Bearer {_signed(_claims())}"})
    assert got.status_code == 200, got.text


@pytest.mark.parametrize("name", list(BAD))
async def test_a_token_with_one_defect_is_401(stack: Stack, name: str) -> None:
    token = BAD[name]()
    # As a real server answers: an unhandled error is a 500 response, not a raised exception.
    transport = httpx.ASGITransport(app=stack.dispatcher, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        got = await http.get(URL, headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 401, f"{name}: {got.status_code} {got.text}"
    assert got.headers["content-type"] == "application/problem+json"
    assert got.headers["www-authenticate"] == "Bearer"
    assert got.json()["type"] == "/problems/unauthenticated"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Authorization": f"Basic {_b64(b'admin:admin')}"}, id="basic-scheme"),
        pytest.param({"Authorization": "Bearer"}, id="bearer-without-token"),
        pytest.param({"Cookie": "access_token=x"}, id="cookie-instead-of-header"),
        pytest.param({"X-Forwarded-User": "admin"}, id="proxy-user-header"),
    ],
)
async def test_other_credentials_are_not_accepted(stack: Stack, headers: dict[str, str]) -> None:
    got = await stack.client.get(URL, headers=headers)
    assert got.status_code == 401, got.text


async def test_a_token_in_the_query_string_is_not_accepted(stack: Stack) -> None:
    got = await stack.client.get(URL, params={"access_token": _signed(_claims())})
    assert got.status_code == 401


@pytest.fixture(scope="module")
async def internal_source(stack: Stack) -> str:
    """An internal source that eve's service token may post to."""
    created = await stack.client.post(
        "/metrics/sources",
        json={
            "name": "user back end",
            "kind": "internal",
            "platform": "internal",
            "system": "user_backend",
            "account_id": "prod",
            "token_subjects": ["eve"],
        },
        headers={"Authorization": f"Bearer {_signed(_claims(roles=['tech']))}"},
    )
    assert created.status_code == 201, created.text
    source_id: str = created.json()["id"]
    return source_id


async def _post_metrics(stack: Stack, source_id: str, token: str) -> httpx.Response:
    batch = {
        "format": "canonical",
        "report_time": "2024-06-11T02:00:00Z",
        "rows": [{"entity": "app", "day": "2024-06-10", "metric": "registrations", "value": "1"}],
    }
    transport = httpx.ASGITransport(app=stack.dispatcher, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return await http.post(
            f"/metrics/webhooks/{source_id}",
            json=batch,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"ub-{token[-12:]}"},
        )


async def test_the_control_service_token_posts_to_its_source(
    stack: Stack, internal_source: str
) -> None:
    got = await _post_metrics(stack, internal_source, _signed(_claims(roles=["service"])))
    assert got.status_code == 200, got.text


@pytest.mark.parametrize("name", list(BAD))
async def test_a_token_with_one_defect_is_401_at_an_internal_source_too(
    stack: Stack, internal_source: str, name: str
) -> None:
    """The webhook decodes the bearer token itself: the same defects are refused the same way."""
    got = await _post_metrics(stack, internal_source, BAD[name]())
    assert got.status_code == 401, f"{name}: {got.status_code} {got.text}"
    assert got.headers["content-type"] == "application/problem+json"
    assert got.json()["type"] == "/problems/unauthenticated"
