"""The service processes of the production shape: ``python -m services.<name>``, one per replica."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from distributed.broker import free_port

SERVICES = ("planning", "tasks", "metrics", "alerts", "approvals")


class ProcessFailed(RuntimeError):
    """A service process exited or did not become ready in time."""


@dataclass
class ServiceProcess:
    """One replica of one service on its own loopback port; its output goes to a log file."""

    service: str
    replica: int
    env: Mapping[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    pids: list[int] = field(default_factory=list)  # every pid this replica ever had

    @property
    def name(self) -> str:
        """``alerts-2`` for the second replica of alerts."""
        return f"{self.service}-{self.replica}"

    @property
    def url(self) -> str:
        """Where the replica serves HTTP."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """The replica's stdout and stderr, appended across restarts."""
        return self.log_dir / f"{self.name}.log"

    @property
    def pid(self) -> int | None:
        """The running process's id, if it was started."""
        return self.process.pid if self.process else None

    def start(self) -> None:
        """Start the process on the replica's port (the same one after a restart)."""
        env = {
            **os.environ,
            **self.env,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "MIGRATE_ON_START": "false",  # the launcher migrated once, before any replica
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", f"services.{self.service}"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.pids.append(self.process.pid)

    def exit_code(self) -> int | None:
        """None while running; the return code (negative: the signal) once it has exited."""
        return self.process.poll() if self.process else None

    def kill(self) -> None:
        """SIGKILL, as the kernel's OOM killer or a node failure would: no shutdown at all."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout_seconds: float = 25) -> None:
        """SIGTERM (uvicorn drains, consumers leave their groups); SIGKILL if it takes too long."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log_tail(self, lines: int = 30) -> str:
        """The end of the log, for a failure message."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def ready(self) -> bool:
        """True when the replica answers /readyz with 200 (database and broker reachable)."""
        try:
            return httpx.get(self.url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


def parse_replicas(specs: Sequence[str]) -> dict[str, int]:
    """``["metrics=2"]`` → replicas per service (1 for those not named)."""
    counts = dict.fromkeys(SERVICES, 1)
    for spec in specs:
        name, _, count = spec.partition("=")
        if name not in counts or not count.isdigit() or int(count) < 1:
            raise ValueError(f"--replicas wants <service>=<count ≥ 1> of {SERVICES}; got {spec!r}")
        counts[name] = int(count)
    return counts


@dataclass
class Fleet:
    """Every replica of every service, started, watched and stopped together."""

    replicas: Mapping[str, int]
    env: Mapping[str, str]
    log_dir: Path
    processes: list[ServiceProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.processes = [
            ServiceProcess(service, n, self.env, self.log_dir)
            for service in SERVICES
            for n in range(1, self.replicas.get(service, 1) + 1)
        ]

    def replica(self, service: str, number: int = 1) -> ServiceProcess:
        """One replica by service and number (1-based)."""
        return next(p for p in self.processes if p.service == service and p.replica == number)

    def upstreams(self) -> dict[str, list[str]]:
        """Each service's replica addresses, for the router."""
        return {s: [p.url for p in self.processes if p.service == s] for s in SERVICES}

    def start(self) -> None:
        """Start every replica (they come up in parallel)."""
        for process in self.processes:
            process.start()

    def wait_ready(self, timeout_seconds: float = 120) -> None:
        """Return once every replica is ready; raise with its log if one exits or never is."""
        wait_ready(self.processes, timeout_seconds)

    def stop(self) -> None:
        """Stop every replica: SIGTERM to all first, so they drain in parallel, then wait."""
        for process in self.processes:
            if process.process is not None and process.process.poll() is None:
                process.process.terminate()
        for process in self.processes:
            process.stop()


def wait_ready(processes: Sequence[ServiceProcess], timeout_seconds: float) -> None:
    """Poll each process's /readyz until all answer 200; fail fast when one exits."""
    deadline = time.monotonic() + timeout_seconds
    waiting = list(processes)
    while waiting:
        for process in list(waiting):
            if (code := process.exit_code()) is not None:
                raise ProcessFailed(f"{process.name} exited with {code}:\n{process.log_tail()}")
            if process.ready():
                waiting.remove(process)
        if waiting and time.monotonic() > deadline:
            names = ", ".join(p.name for p in waiting)
            raise ProcessFailed(
                f"not ready after {timeout_seconds:.0f} s: {names}\n{waiting[0].log_tail()}"
            )
        if waiting:
            time.sleep(0.2)
