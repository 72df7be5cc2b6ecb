"""What the story runs on: narration, waiting for asynchronous work, a webhook receiver, and the
system itself (DEMO_BASE_URL, or all five services started here on a throw-away embedded
database)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from shared.kit.settings import Settings

T = TypeVar("T")


def say(text: str) -> None:
    """One line of the story."""
    print(text, flush=True)


class Stuck(RuntimeError):
    """Something the story waits for did not happen in time."""


async def until(probe: Callable[[], Awaitable[T | None]], what: str, seconds: float = 30) -> T:
    """Poll until the system has done something asynchronous (events, jobs)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := await probe():
            return result
        await asyncio.sleep(0.2)
    raise Stuck(f"gave up waiting for: {what}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Receiver:
    """A team's webhook endpoint: records every alert notification."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.received.extend(json.loads(body or b"{}").get("notifications", []))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def serving(app: Any, port: int) -> Iterator[None]:
    """Run an ASGI app under uvicorn in a thread until the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit("a demo server failed to start")
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def system() -> Iterator[str]:
    """The base URL of a running system: DEMO_BASE_URL, or one started here."""
    if configured := os.environ.get("DEMO_BASE_URL"):
        yield configured
        return
    from allinone.app import create_allinone_app
    from shared.kit.embedded_pg import embedded_database_url, stop_server

    data_dir = Path(tempfile.mkdtemp(prefix="cp-demo-pg-"))
    try:
        settings = Settings(
            database_url=embedded_database_url(data_dir), relay_idle_poll_seconds=0.1
        )
        app, _root = create_allinone_app(settings)
        port = free_port()
        with serving(app, port):
            yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(data_dir)


async def arrived(value: bool) -> bool | None:
    """A probe for ``until`` from a condition already at hand."""
    return value or None
