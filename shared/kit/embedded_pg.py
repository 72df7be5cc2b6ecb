"""The embedded PostgreSQL server used when DATABASE_URL is unset."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from shared.kit.db import async_url

_servers: dict[Path, Any] = {}

# pgserver's list of the processes using a server; the last one to leave stops it.
HANDLES_FILE = ".handle_pids.json"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def forget_dead_handles(data_dir: Path) -> list[int]:
    """Drop processes that died without leaving (kill -9) from pgserver's list of users.

    pgserver stops the server only when the process leaving is the last one listed. A process
    killed with -9 never leaves, so without this every later run would see it still listed and
    leave PostgreSQL running when it stops. Returns the pids dropped.
    """
    from pgserver.postgres_server import PostgresServer

    path = data_dir / HANDLES_FILE
    with PostgresServer._lock:  # the lock pgserver holds while it reads and writes the list
        try:
            pids: list[int] = json.loads(path.read_text())
        except (OSError, ValueError):
            return []
        dead = [pid for pid in pids if not _running(pid)]
        if dead:
            path.write_text(json.dumps([pid for pid in pids if pid not in dead]))
    return dead


def start_server(data_dir: Path, *, cleanup_mode: str | None = "stop") -> str:
    """Start (or reuse) the server in ``data_dir``; return a libpq URI of its ``postgres`` db."""
    import pgserver  # imported here: production processes never need it

    data_dir = data_dir.resolve()
    if data_dir not in _servers:
        data_dir.mkdir(parents=True, exist_ok=True)
        forget_dead_handles(data_dir)
        _servers[data_dir] = pgserver.get_server(data_dir, cleanup_mode=cleanup_mode)
    return str(_servers[data_dir].get_uri())


def server_pid(data_dir: Path) -> int | None:
    """The PostgreSQL server's process id, when this process started (or joined) it."""
    server = _servers.get(data_dir.resolve())
    return int(server.get_pid()) if server is not None else None


def stop_server(data_dir: Path) -> None:
    """Stop a server this process started (and delete its data if it was started to be deleted)."""
    server = _servers.pop(data_dir.resolve(), None)
    if server is not None:
        server.cleanup()


def embedded_database_url(data_dir: Path) -> str:
    """The embedded server's database as an asyncpg URL (the server is the project's alone)."""
    return async_url(start_server(data_dir))
