"""The all-in-one system served on a loopback port for schemathesis to call."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from allinone.app import create_allinone_app
from shared.kit.settings import Settings


@pytest.fixture
def served(settings: Settings, database_url: str) -> Iterator[str]:
    """The all-in-one app served by uvicorn on a loopback port, in a thread with its own loop."""
    # A fuzzer writes far faster than any client: lift the write limit so it meets the
    # routes, not a 429.
    unlimited = settings.model_copy(update={"rate_limit_writes": "1000000/second"})
    app, _root = create_allinone_app(unlimited, database_url=database_url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the server died while starting"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    # Fuzz a ready system: until every consumer has joined, /readyz rightly answers 503.
    while httpx.get(f"{base}/readyz").status_code != 200:
        assert time.monotonic() < deadline, "the services did not become ready"
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)
