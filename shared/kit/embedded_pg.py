"""The embedded PostgreSQL server used when DATABASE_URL is unset."""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from shared.kit.db import async_url

_servers: dict[Path, Any] = {}
# Each watchdog and the write end of its pipe, held for as long as this process lives.
_watchdogs: dict[Path, tuple[subprocess.Popen[bytes], int]] = {}

# The watchdog blocks on a pipe only its parent writes to; the kernel closes it however the
# parent ends (kill -9 included), and the watchdog then stops a server nobody uses any more.
_WATCHDOG = """
import sys
from pathlib import Path
sys.stdin.buffer.read()
from shared.kit.embedded_pg import stop_if_abandoned
stop_if_abandoned(Path(sys.argv[1]))
"""

# pgserver's list of the processes using a server; the last one to leave stops it.
HANDLES_FILE = ".handle_pids.json"
SHUTDOWN_SECONDS = 30


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


def stop_if_abandoned(data_dir: Path) -> bool:
    """Stop the server (fast shutdown) when no living process uses it; True if it was stopped."""
    from pgserver.postgres_server import PostgresServer

    forget_dead_handles(data_dir)
    with PostgresServer._lock:
        try:
            users = json.loads((data_dir / HANDLES_FILE).read_text())
        except (OSError, ValueError):
            users = []
        if users:
            return False
        try:
            pid = int((data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        if not _running(pid):
            return False
        os.kill(pid, signal.SIGINT)  # PostgreSQL's fast shutdown: sessions end, data is safe
        # Still holding the lock: a run starting meanwhile must not take over a server that is
        # on its way down; it waits and starts a new one.
        deadline = time.monotonic() + SHUTDOWN_SECONDS
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    return True


def _watch_for_abandonment(data_dir: Path) -> None:
    read_end, write_end = os.pipe()  # not inherited by any other child of this process
    watchdog = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", _WATCHDOG, str(data_dir)],
        stdin=read_end,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C in the terminal is for its parent, not for it
    )
    os.close(read_end)
    _watchdogs[data_dir] = (watchdog, write_end)


def _ensure_system_user() -> None:
    """As root, pgserver runs PostgreSQL as a ``pgserver`` user it creates on first use; two
    processes starting servers at once (the suite's two workers on a fresh machine) both see no
    user and both run ``useradd``, and one server starts under a uid that no longer exists. One
    process at a time creates it here, under a lock every process on the machine shares."""
    if os.geteuid() != 0:
        return
    from pgserver.utils import ensure_user_exists

    # A fixed path on purpose: TMPDIR differs between the processes that must share the lock.
    with open("/tmp/cp-pgserver-user.lock", "w") as lock:  # noqa: S108
        fcntl.flock(lock, fcntl.LOCK_EX)
        ensure_user_exists("pgserver")


def start_server(data_dir: Path, *, cleanup_mode: str | None = "stop") -> str:
    """Start (or reuse) the server in ``data_dir``; return a libpq URI of its ``postgres`` db."""
    import pgserver  # imported here: production processes never need it

    data_dir = data_dir.resolve()
    if data_dir not in _servers:
        _ensure_system_user()
        data_dir.mkdir(parents=True, exist_ok=True)
        forget_dead_handles(data_dir)
        _servers[data_dir] = pgserver.get_server(data_dir, cleanup_mode=cleanup_mode)
        # Runs before pgserver's own exit handler (registered above), which stops the server
        # only if this process is the last living one listed.
        atexit.register(forget_dead_handles, data_dir)
        if cleanup_mode is not None:
            _watch_for_abandonment(data_dir)
    return str(_servers[data_dir].get_uri())


def server_pid(data_dir: Path) -> int | None:
    """The PostgreSQL server's process id, when this process started (or joined) it."""
    server = _servers.get(data_dir.resolve())
    return int(server.get_pid()) if server is not None else None


def stop_server(data_dir: Path) -> None:
    """Stop a server this process started (and delete its data if it was started to be deleted)."""
    data_dir = data_dir.resolve()
    server = _servers.pop(data_dir, None)
    if server is not None:
        forget_dead_handles(data_dir)
        server.cleanup()
    if (watch := _watchdogs.pop(data_dir, None)) is not None:
        watchdog, write_end = watch
        os.close(write_end)  # the watchdog wakes, finds the server stopped, and exits
        try:
            watchdog.wait(timeout=SHUTDOWN_SECONDS)
        except subprocess.TimeoutExpired:
            watchdog.kill()
            watchdog.wait()


def embedded_database_url(data_dir: Path) -> str:
    """The embedded server's database as an asyncpg URL (the server is the project's alone)."""
    return async_url(start_server(data_dir))
