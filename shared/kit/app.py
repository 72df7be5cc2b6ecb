"""The app factory every service uses: routes, ops endpoints, errors, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from sqlalchemy.ext.asyncio import AsyncSession

from shared.kit.body_limit import BodyLimit
from shared.kit.bus.dead_letters import dead_letter_router
from shared.kit.bus.outbox import DIRTY_FLAG
from shared.kit.bus.transport import Transport
from shared.kit.embedded_pg import embedded_database_url
from shared.kit.errors import PROBLEM_RESPONSES, install_problem_handlers, problem
from shared.kit.observability import RequestObservability, exposition
from shared.kit.openapi_clients import for_clients
from shared.kit.openapi_headers import describe_headers
from shared.kit.openapi_links import add_links
from shared.kit.ratelimit import RateLimits
from shared.kit.runtime import ServiceDefinition, ServiceRuntime
from shared.kit.settings import Settings, get_settings, service_database_url


def runtime_of(request: Request) -> ServiceRuntime:
    """The runtime of the app serving this request."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed here only, before the response is sent."""
    runtime = runtime_of(request)
    async with runtime.sessions() as session:
        async with session.begin():
            yield session
        if session.info.get(DIRTY_FLAG):
            runtime.relay.wake()


# scope="function": the commit runs before the response is sent, so a failed commit is a 500,
# never a 2xx for data that was not stored.
Session = Annotated[AsyncSession, Depends(request_session, scope="function")]


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for a route that only reads: its statements run without BEGIN and COMMIT.

    In READ COMMITTED every statement sees its own snapshot either way, so a read-only route
    gets the same answers, two round trips sooner. Writing through it is not supported."""
    async with runtime_of(request).sessions() as session:
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session


ReadSession = Annotated[AsyncSession, Depends(read_session)]


def resolve_database_url(name: str, settings: Settings) -> str:
    """The service's DSN, or the embedded server's when none is configured."""
    return service_database_url(name, settings) or embedded_database_url(settings.embedded_data_dir)


def create_service_app(
    definition: ServiceDefinition,
    *,
    settings: Settings | None = None,
    database_url: str | None = None,
    transport: Transport | None = None,
    consumers: bool = True,
) -> FastAPI:
    """A FastAPI app for one service; routes live under ``/<name>``, ops endpoints at the root.

    ``consumers=False`` serves the routes and the relay without consuming other services' events.
    """
    settings = settings or get_settings()
    name = definition.name
    runtime = ServiceRuntime(
        definition,
        settings,
        database_url or resolve_database_url(name, settings),
        transport,
        consumers=consumers,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    # Swagger UI and ReDoc from assets in the fastapi-offline package: the company network may
    # not reach a CDN, and the pages were blank without one.
    app = FastAPIOffline(
        title=f"{name} service",
        description=definition.description,
        docs_url=f"/{name}/docs",
        redoc_url=f"/{name}/redoc",
        static_url=f"/{name}/docs-assets",
        swagger_ui_oauth2_redirect_url=f"/{name}/docs/oauth2-redirect",
        swagger_ui_parameters={"persistAuthorization": True},
        openapi_url=f"/{name}/openapi.json",
        generate_unique_id_function=operation_id,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_problem_handlers(app)
    app.add_middleware(RateLimits, settings=settings)
    app.add_middleware(BodyLimit)
    app.add_middleware(RequestObservability, service=name, language=settings.company_language)
    allow_cross_origin(app, settings)
    for router in [*definition.routers, dead_letter_router()]:
        app.include_router(router, prefix=f"/{name}", responses=PROBLEM_RESPONSES)
    install_ops_routes(app, runtime)
    with_links(app, name)
    return app


def operation_id(route: APIRoute) -> str:
    """A readable operationId from the handler's name (create_plan → createPlan), so generated
    clients get methods a frontend developer would have written."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


# What a browser frontend must be able to read from our answers.
EXPOSED_HEADERS = ["ETag", "Location", "Link", "Retry-After", "X-Correlation-ID"]


def allow_cross_origin(app: FastAPI, settings: Settings) -> None:
    """CORS for the configured internal frontends; outermost, so a preflight (and a refusal)
    is answered before authentication and rate limits, and every answer carries the headers."""
    if not settings.cors_allow_origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_allow_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "Idempotency-Key",
            "If-Match",
            "X-Correlation-ID",
            "Accept-Language",
        ],
        expose_headers=EXPOSED_HEADERS,
        max_age=600,
    )


def with_links(app: FastAPI, service: str) -> None:
    """Serve the OpenAPI document with create → follow-up links (see openapi_links), tagged by
    resource for generated clients (see openapi_clients)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = for_clients(add_links(describe_headers(generate())), service)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def install_ops_routes(app: FastAPI, runtime: ServiceRuntime) -> None:
    """/healthz (the process lives), /readyz (database and bus reachable), /metrics (Prometheus),
    each also under the service's prefix, where a path-routing ingress sends ``/<service>/…``."""
    name = runtime.definition.name

    @app.get("/healthz", include_in_schema=False)
    @app.get(f"/{name}/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": name}

    @app.get("/readyz", include_in_schema=False)
    @app.get(f"/{name}/readyz", tags=["ops"], responses={503: PROBLEM_RESPONSES[503]})
    async def readyz(request: Request) -> Response:
        database = await runtime.database_ready()
        bus = runtime.bus_ready
        if database and bus:
            return Response('{"status":"ready"}', media_type="application/json")
        detail = f"database {'ok' if database else 'down'}, bus {'ok' if bus else 'down'}"
        return problem(503, "not-ready", "Not ready", detail, request.url.path)

    @app.get("/metrics", include_in_schema=False)
    @app.get(f"/{name}/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return await exposition([runtime])
