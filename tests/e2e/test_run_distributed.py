"""``make run-distributed``: it starts the whole shape, serves it on one address, starts a
killed replica again, and Ctrl-C stops every process it started."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import free_port
from tests.processes import running

pytestmark = pytest.mark.kafka

START_SECONDS = 180
STOP_SECONDS = 120
PID = re.compile(r"^\s+(\S+)\s.*\(pid (\d+)")


@dataclass
class Launcher:
    """``python -m distributed`` as a user runs it, its output collected line by line."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, what: Callable[[str], bool], seconds: float) -> str:
        """The first output line matching ``what``; fails if the launcher exits first."""
        deadline = time.monotonic() + seconds
        while True:
            if found := next((line for line in self.lines if what(line)), None):
                return found
            if self.process.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        raise AssertionError("launcher output so far:\n" + "\n".join(self.lines))

    def pids(self) -> dict[str, int]:
        """Every process the banner names: broker, database, each replica."""
        return {m[1]: int(m[2]) for line in self.lines if (m := PID.match(line))}


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temporary directory with a short path: the embedded server's Unix socket lives under it,
    and socket paths are limited to about 100 bytes (pytest-xdist's tmp_path is longer)."""
    path = Path(tempfile.mkdtemp(prefix="cpd-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def launcher(short_tmp: Path) -> Iterator[Launcher]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "JWT_SECRET", "BUS"}
    }
    env["PORT"] = str(free_port())
    env["TMPDIR"] = str(short_tmp)
    process = subprocess.Popen(
        [sys.executable, "-m", "distributed", "--replicas", "alerts=2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running_launcher = Launcher(process)
    threading.Thread(target=running_launcher.read, daemon=True).start()
    try:
        yield running_launcher
    finally:
        if process.poll() is None:  # the test failed before stopping it: leave nothing behind
            for pid in running_launcher.pids().values():
                if running(pid):
                    os.kill(pid, signal.SIGKILL)
            process.kill()
            process.wait()


def test_ctrl_c_stops_everything_it_started_also_after_a_replica_was_killed(
    launcher: Launcher, short_tmp: Path
) -> None:
    launcher.wait_for(lambda line: line.startswith("Ctrl-C stops everything"), START_SECONDS)
    port = int(launcher.wait_for(lambda line: "router on" in line, 0).rsplit(":", 1)[1])
    started = launcher.pids()
    assert set(started) == {
        "broker",
        "database",
        "planning-1",
        "tasks-1",
        "metrics-1",
        "alerts-1",
        "alerts-2",
        "approvals-1",
    }
    assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200

    os.kill(started["alerts-1"], signal.SIGKILL)
    again = launcher.wait_for(lambda line: line.startswith("alerts-1 started again"), 60)
    restarted = int(re.findall(r"pid (\d+)", again)[0])
    assert restarted != started["alerts-1"]

    launcher.process.send_signal(signal.SIGINT)
    assert launcher.process.wait(timeout=STOP_SECONDS) == 0
    launcher.wait_for(lambda line: line == "stopped", 5)
    left = {name: pid for name, pid in started.items() if running(pid)}
    assert left == {}
    assert not running(restarted)
    # The throw-away database went with its server.
    assert not list(short_tmp.glob("cp-distributed-*/pg"))
