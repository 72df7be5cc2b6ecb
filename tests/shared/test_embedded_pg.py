"""`make run`'s embedded PostgreSQL does not outlive the runs that use it, however they end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.kit.embedded_pg import HANDLES_FILE, start_server, stop_server
from tests.processes import running

# A run of the all-in-one as far as the database goes: start the server, then wait to be killed.
RUN = """
import sys, time
from pathlib import Path
from shared.kit.embedded_pg import start_server
start_server(Path(sys.argv[1]))
print("started", flush=True)
time.sleep(600)
"""
STOP_SECONDS = 60  # generous: a fast shutdown takes well under a second on an idle machine


def postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def ends(pid: int) -> bool:
    """True once the process is gone. pg_ctl's stop returns when the server has removed its
    pid file, which it does a moment before its process exits."""
    deadline = time.monotonic() + STOP_SECONDS
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not running(pid)


def dead_pid() -> int:
    """The id of a process that has exited (and was reaped)."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pg"
    yield path
    if (pid := postmaster_pid(path)) is not None and running(pid):
        os.kill(pid, signal.SIGKILL)  # left behind by a failed test: never by a passing one


def test_a_run_stops_the_server_although_a_killed_run_is_still_listed(data_dir: Path) -> None:
    start_server(data_dir)
    server = postmaster_pid(data_dir)
    assert server is not None
    # pgserver's list of users as a run killed with -9 leaves it: that run never left.
    handles = data_dir.resolve() / HANDLES_FILE
    handles.write_text(json.dumps([dead_pid(), *json.loads(handles.read_text())]))

    stop_server(data_dir)

    assert ends(server)


def test_a_run_killed_with_sigkill_does_not_leave_its_server_running(data_dir: Path) -> None:
    killed = subprocess.Popen(
        [sys.executable, "-c", RUN, str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    assert killed.stdout is not None
    assert killed.stdout.readline().strip() == "started"
    server = postmaster_pid(data_dir)
    assert server is not None
    assert running(server)

    killed.kill()  # nothing of the run executes after this, no exit handler at all
    killed.wait()
    killed.stdout.close()

    assert ends(server)
    # The next run starts a server of its own in the same folder, and stops it.
    start_server(data_dir)
    again = postmaster_pid(data_dir)
    assert again is not None
    assert again != server
    stop_server(data_dir)
    assert ends(again)
