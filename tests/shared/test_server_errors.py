"""A 500 keeps the correlation id in its answer and its log line, and the connection open."""

from __future__ import annotations

import http.client
import io
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from services.planning.app import DEFINITION as PLANNING
from shared.kit.app import create_service_app
from shared.kit.observability import configure_logging
from shared.kit.settings import Settings


async def _fails() -> None:
    raise RuntimeError("a bug, not anything the client sent")


@pytest.fixture
def port(settings: Settings, database_url: str) -> Iterator[int]:
    """Planning served by uvicorn, with one test-only route that fails."""
    app = create_service_app(PLANNING, settings=settings, database_url=database_url)
    app.add_api_route("/planning/test-only/fails", _fails)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free: int = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=free, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the server died while starting"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield free
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the services' JSON log handler writes, as a production process would."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging()
    written = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(written)
    try:
        yield written
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_a_500_carries_the_correlation_id_and_keeps_the_connection(
    port: int, log_lines: io.StringIO
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/planning/test-only/fails", headers={"X-Correlation-ID": "cid-500"})
    failed = connection.getresponse()
    body = json.loads(failed.read())
    assert failed.status == 500
    assert failed.getheader("x-correlation-id") == "cid-500"
    assert failed.getheader("content-type") == "application/problem+json"
    assert body["correlation_id"] == "cid-500"
    assert "RuntimeError" not in json.dumps(body)  # nothing of the failure leaks
    kept = connection.sock
    connection.request("GET", "/planning/healthz")
    after = connection.getresponse()
    after.read()
    assert after.status == 200
    assert connection.sock is kept  # the same kept-alive connection answered
    connection.close()
    logged = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    failures = [line for line in logged if line["message"].startswith("unhandled error")]
    assert [line["correlation_id"] for line in failures] == ["cid-500"]
    assert "RuntimeError" in failures[0]["exc_info"]
