"""The all-in-one app served on a loopback port, as the end-to-end stories use it."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from allinone.app import create_allinone_app
from demo.harness import serving
from shared.kit.settings import BusKind, Settings


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live(database_url: str) -> Iterator[str]:
    """The all-in-one app with its relays, consumers and jobs, on a loopback port."""
    settings = Settings(
        database_url=database_url, bus=BusKind.EMBEDDED, relay_idle_poll_seconds=0.05
    )
    app, _root = create_allinone_app(settings, database_url=database_url)
    port = free_port()
    with serving(app, port):
        yield f"http://127.0.0.1:{port}"
