"""Running apps in a test: one service alone, or the all-in-one system, on an HTTP client.

Stopping runtimes one after another waits on each one's consumer fetch in turn (the all-in-one
stop took 3-4 s); asking them all to stop first lets the loops wind down together.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from allinone.app import DEFINITIONS, PrefixDispatcher, create_allinone_app
from shared.kit.app import create_service_app
from shared.kit.runtime import ServiceDefinition
from shared.kit.settings import Settings

BY_NAME: dict[str, ServiceDefinition] = {d.name: d for d in DEFINITIONS}


def ask_to_stop(apps: Iterable[FastAPI]) -> None:
    """Signal every app's loops to finish, so their lifespans then close without waiting long."""
    for app in apps:
        app.state.runtime.request_stop()


@asynccontextmanager
async def http_on(app: object) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling the ASGI app in-process."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"Accept-Language": "en"}
    ) as http:
        yield http


@asynccontextmanager
async def one_service(
    name: str, settings: Settings, database_url: str, *, consumers: bool = False
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """One service's app, running (relay on; consumers only when asked), and a client on it.

    Its routes keep their ``/<name>/…`` paths, so a request reads the same as on the all-in-one.
    """
    app = create_service_app(
        BY_NAME[name], settings=settings, database_url=database_url, consumers=consumers
    )
    async with app.router.lifespan_context(app):
        try:
            async with http_on(app) as http:
                yield app, http
        finally:
            ask_to_stop([app])


@asynccontextmanager
async def all_in_one(
    settings: Settings, database_url: str
) -> AsyncIterator[tuple[PrefixDispatcher, FastAPI, httpx.AsyncClient]]:
    """Every service with its relay and consumers, behind one dispatcher, and a client on it."""
    dispatcher, root = create_allinone_app(settings, database_url=database_url)
    async with root.router.lifespan_context(root):
        try:
            async with http_on(dispatcher) as http:
                yield dispatcher, root, http
        finally:
            ask_to_stop(dispatcher.services.values())
