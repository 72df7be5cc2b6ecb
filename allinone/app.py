"""One ASGI app that serves every service under its own prefix and runs all their lifespans."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from services.alerts.app import DEFINITION as ALERTS
from services.approvals.app import DEFINITION as APPROVALS
from services.metrics.app import DEFINITION as METRICS
from services.planning.app import DEFINITION as PLANNING
from services.tasks.app import DEFINITION as TASKS
from shared.kit.app import create_service_app, resolve_database_url
from shared.kit.bus.embedded import EmbeddedTransport
from shared.kit.bus.transport import Transport
from shared.kit.db import create_engine
from shared.kit.errors import problem
from shared.kit.observability import exposition
from shared.kit.runtime import ServiceDefinition
from shared.kit.settings import BusKind, Settings, get_settings

DEFINITIONS: tuple[ServiceDefinition, ...] = (PLANNING, TASKS, METRICS, ALERTS, APPROVALS)


class PrefixDispatcher:
    """Routes ``/<service>/…`` to that service's app and everything else to the root app."""

    def __init__(self, root: FastAPI, services: Mapping[str, FastAPI]) -> None:
        self.root = root
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target: ASGIApp = self.root
        if scope["type"] in ("http", "websocket"):
            # Only "/<service>/…" goes to a service: the root's own "/metrics" must not be
            # taken by the metrics service.
            parts = scope["path"].split("/", 2)
            if len(parts) == 3:
                target = self.services.get(parts[1], self.root)
        await target(scope, receive, send)


def docs_index(names: list[str]) -> str:
    """One page linking every service's API docs (Swagger UI and ReDoc)."""
    rows = "".join(
        f'<li><a href="/{n}/docs">{n}</a> (<a href="/{n}/redoc">ReDoc</a>, '
        f'<a href="/{n}/openapi.json">OpenAPI</a>)</li>'
        for n in names
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Campaign placement API</title></head><body>"
        f"<h1>Campaign placement API</h1><ul>{rows}</ul></body></html>"
    )


def create_allinone_app(
    settings: Settings | None = None,
    database_url: str | None = None,
    on_ready: Callable[[], None] | None = None,
) -> tuple[PrefixDispatcher, FastAPI]:
    """The dispatcher to serve, and the root app (whose lifespan starts every service).

    ``on_ready`` is called once every service is ready (its database and bus answer).
    """
    settings = settings or get_settings()
    transport: Transport | None = None
    bus_engine = None
    if settings.bus_kind is BusKind.EMBEDDED:
        # One shared transport: a publish wakes this process's consumers without polling, and
        # one connection holds every consumer group's membership.
        bus_engine = create_engine(
            database_url or resolve_database_url("bus", settings),
            application_name="bus",
            pool_size=settings.db_pool_size,
        )
        transport = EmbeddedTransport(bus_engine)
    services = {
        d.name: create_service_app(
            d, settings=settings, database_url=database_url, transport=transport
        )
        for d in DEFINITIONS
    }

    async def not_ready() -> list[str]:
        return [
            n
            for n, a in services.items()
            if not (await a.state.runtime.database_ready() and a.state.runtime.bus_ready)
        ]

    async def announce_when_ready(announce: Callable[[], None]) -> None:
        # Readiness asks the database and the broker: there is no event to wait on.
        while True:
            if not await not_ready():
                announce()
                return
            await asyncio.sleep(0.1)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for app in services.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            if bus_engine is not None:
                stack.push_async_callback(bus_engine.dispose)
            if on_ready is not None:
                waiting = asyncio.create_task(announce_when_ready(on_ready))
                stack.callback(waiting.cancel)
            yield

    root = FastAPI(
        title="campaign placement (all services)",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @root.get("/")
    async def index() -> dict[str, object]:
        return {"services": {name: {"docs": f"/{name}/docs"} for name in services}}

    @root.get("/docs", response_class=HTMLResponse)
    async def docs() -> str:
        return docs_index(list(services))

    @root.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @root.get("/readyz")
    async def readyz(request: Request) -> Response:
        if down := await not_ready():
            return problem(
                503, "not-ready", "Not ready", f"not ready: {', '.join(down)}", request.url.path
            )
        return Response('{"status":"ready"}', media_type="application/json")

    @root.get("/metrics")
    async def prometheus() -> Response:
        # One registry per process, so the root exposes every service's series.
        return await exposition([app.state.runtime for app in services.values()])

    return PrefixDispatcher(root, services), root
