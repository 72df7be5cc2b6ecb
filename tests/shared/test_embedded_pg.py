"""`make run`'s embedded PostgreSQL stops with the run, also after an earlier run was kill -9'd."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.kit.embedded_pg import start_server, stop_server
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


def postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pg"
    yield path
    if (pid := postmaster_pid(path)) is not None and running(pid):
        os.kill(pid, signal.SIGKILL)  # left behind by a failed test: never by this one


def test_the_server_stops_with_the_next_run_after_one_was_killed_with_sigkill(
    data_dir: Path,
) -> None:
    killed = subprocess.Popen(
        [sys.executable, "-c", RUN, str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    assert killed.stdout is not None
    assert killed.stdout.readline().strip() == "started"
    killed.kill()
    killed.wait()
    server = postmaster_pid(data_dir)
    assert server is not None
    assert running(server)  # a kill -9 leaves it running: nothing ran on exit

    start_server(data_dir)  # the next `make run` takes the same server over
    assert postmaster_pid(data_dir) == server
    stop_server(data_dir)  # and stops it when it stops, as if no run had been killed

    assert not running(server)
