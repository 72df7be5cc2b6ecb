"""One address in front of the service processes: ``/<service>/…`` goes to one of its replicas.

A small ASGI reverse proxy, like the ingress of the deployed shape: method, path, query,
headers and body go through unchanged and the answer streams back with its status and
headers. Replicas take requests in turn. A replica that refuses the connection (it crashed,
or is restarting) is skipped; a request it may have started on is retried elsewhere only when
repeating it is harmless (GET, HEAD, OPTIONS), as a proxy's "next upstream" rule does.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpx
from starlette.types import Receive, Scope, Send

from shared.kit.errors import problem

# Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _forwarded(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in headers if k.decode("latin-1").lower() not in HOP_BY_HOP]


class Router:
    """Routes ``/<service>/…`` to its replicas; ``/`` lists them and ``/readyz`` asks them."""

    def __init__(self, upstreams: Mapping[str, Sequence[str]], timeout_seconds: float = 60) -> None:
        self.upstreams = {name: list(urls) for name, urls in upstreams.items()}
        self._turns = {name: itertools.count() for name in self.upstreams}
        self._timeout = httpx.Timeout(timeout_seconds, connect=5)
        self._client: httpx.AsyncClient | None = None

    def replace(self, service: str, urls: Sequence[str]) -> None:
        """Point a service at another set of replicas (e.g. one restarted on a new port)."""
        self.upstreams[service] = list(urls)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        service = path.split("/", 2)[1]
        if path == "/":
            await self._index(send)
        elif path == "/readyz":
            await self._ready(scope, receive, send)
        elif service in self.upstreams and path != f"/{service}":
            await self._proxy(service, scope, receive, send)
        else:
            known = ", ".join(f"/{name}/" for name in self.upstreams)
            detail = f"no service serves {path}; the services are under {known}"
            await problem(404, "not-found", "Not found", detail, path)(scope, receive, send)

    def client(self) -> httpx.AsyncClient:
        """The pooled client to the replicas (made on first use when no lifespan ran)."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        return self._client

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                    self._client = None
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _order(self, service: str) -> list[str]:
        """This service's replicas, starting with the one whose turn it is."""
        urls = self.upstreams[service]
        if not urls:
            return []
        first = next(self._turns[service]) % len(urls)
        return urls[first:] + urls[:first]

    async def _proxy(self, service: str, scope: Scope, receive: Receive, send: Send) -> None:
        # The body is read whole so that a refused connection can be retried on another replica.
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        method: str = scope["method"]
        target = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        client_host = (scope.get("client") or ("", 0))[0]
        headers = [*_forwarded(scope["headers"]), (b"x-forwarded-for", client_host.encode())]
        failures: list[str] = []
        for base in self._order(service):
            request = self.client().build_request(
                method, base + target.decode("latin-1"), headers=headers, content=bytes(body)
            )
            try:
                response = await self.client().send(request, stream=True)
            except httpx.ConnectError as exc:
                failures.append(f"{base}: {exc!r}")
                continue
            except httpx.TransportError as exc:
                failures.append(f"{base}: {exc!r}")
                if method in SAFE_METHODS:
                    continue
                break
            try:
                await send(
                    {
                        "type": "http.response.start",
                        "status": response.status_code,
                        "headers": _forwarded(response.headers.raw),
                    }
                )
                async for chunk in response.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            finally:
                await response.aclose()
            return
        detail = f"no replica of {service} answered: " + "; ".join(failures or ["none configured"])
        await problem(502, "bad-gateway", "Bad gateway", detail, scope["path"])(
            scope, receive, send
        )

    async def _index(self, send: Send) -> None:
        listing: dict[str, Any] = {
            "services": {
                name: {"docs": f"/{name}/docs", "replicas": urls}
                for name, urls in self.upstreams.items()
            }
        }
        await _json(200, listing, send)

    async def _ready(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Ready when every service has at least one ready replica."""
        states: dict[str, dict[str, str]] = {}
        for name, urls in self.upstreams.items():
            states[name] = {}
            for base in urls:
                try:
                    answer = await self.client().get(base + "/readyz", timeout=5)
                    ready = answer.status_code == 200
                except httpx.HTTPError:
                    ready = False
                states[name][base] = "ready" if ready else "not ready"
        down = [n for n, s in states.items() if "ready" not in s.values()]
        if down:
            detail = f"no ready replica of {', '.join(down)}"
            await problem(503, "not-ready", "Not ready", detail, "/readyz", replicas=states)(
                scope, receive, send
            )
            return
        await _json(200, {"status": "ready", "replicas": states}, send)


async def _json(status: int, body: Any, send: Send) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload})
