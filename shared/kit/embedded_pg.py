"""The embedded PostgreSQL server used when DATABASE_URL is unset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared.kit.db import async_url

_servers: dict[Path, Any] = {}


def start_server(data_dir: Path, *, cleanup_mode: str | None = "stop") -> str:
    """Start (or reuse) the server in ``data_dir``; return a libpq URI of its ``postgres`` db."""
    import pgserver  # imported here: production processes never need it

    data_dir = data_dir.resolve()
    if data_dir not in _servers:
        data_dir.mkdir(parents=True, exist_ok=True)
        _servers[data_dir] = pgserver.get_server(data_dir, cleanup_mode=cleanup_mode)
    return str(_servers[data_dir].get_uri())


def stop_server(data_dir: Path) -> None:
    """Stop a server this process started (and delete its data if it was started to be deleted)."""
    server = _servers.pop(data_dir.resolve(), None)
    if server is not None:
        server.cleanup()


def embedded_database_url(data_dir: Path) -> str:
    """The embedded server's database as an asyncpg URL (the server is the project's alone)."""
    return async_url(start_server(data_dir))
