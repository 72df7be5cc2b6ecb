"""Per-client rate limits on writes and webhooks (OWASP API4): a moving window per client,
then 429 with Retry-After.

The ``limits`` library keeps the windows: in memory per replica by default, or in Redis when
``RATE_LIMIT_STORAGE`` names one, so every replica counts against the same window.
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.kit.errors import problem
from shared.kit.settings import Settings

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def client_of(scope: Scope) -> tuple[str, str]:
    """Which window a request counts against: the webhook's source, else the bearer token
    (hashed; never stored), else the peer address."""
    path: str = scope["path"]
    if "/webhooks/" in path:
        return "webhook", path.rsplit("/", 1)[-1]
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            return "write", hashlib.sha256(value).hexdigest()[:32]
    peer = scope.get("client")
    return "write", f"peer:{peer[0] if peer else 'unknown'}"


class RateLimits:
    """ASGI middleware counting each client's writes and each source's webhooks."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        storage = storage_from_string(settings.rate_limit_storage)
        if not isinstance(storage, Storage):
            raise ValueError(
                "RATE_LIMIT_STORAGE must name async storage (async+memory://, async+redis://…)"
            )
        self.limiter = MovingWindowRateLimiter(storage)
        self.limits: dict[str, RateLimitItem] = {
            "write": parse(settings.rate_limit_writes),
            "webhook": parse(settings.rate_limit_webhooks),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES:
            await self.app(scope, receive, send)
            return
        kind, client = client_of(scope)
        limit = self.limits[kind]
        if await self.limiter.hit(limit, kind, client):
            await self.app(scope, receive, send)
            return
        window = await self.limiter.get_window_stats(limit, kind, client)
        wait = max(1, math.ceil(window.reset_time - time.time()))
        refused = problem(
            429,
            "rate-limited",
            "Too many requests",
            f"more than {limit} {kind} requests from this client; retry in {wait} s",
            scope["path"],
            retry_after=wait,
            limit=str(limit),
        )
        await refused(scope, receive, send)
