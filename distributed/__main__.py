"""``python -m distributed`` (``make run-distributed``): the production shape on one machine.

A Kafka-protocol broker (Tansu, unless KAFKA_BOOTSTRAP_SERVERS is set), PostgreSQL (a
throw-away embedded server, unless DATABASE_URL is set) migrated once, one process per service
replica, and a router on PORT that sends ``/<service>/…`` to that service's replicas. A replica
that dies is started again, as an orchestrator would. Ctrl-C (or SIGTERM) stops everything
this command started, whatever state it is in.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

import uvicorn

from distributed.broker import LocalBroker
from distributed.processes import Fleet, ServiceProcess, parse_replicas
from distributed.router import Router
from shared.contract.types import Role
from shared.kit.auth import mint_token
from shared.kit.embedded_pg import server_pid, start_server, stop_server
from shared.kit.secrets import new_key
from shared.kit.settings import Settings

RESTART_DELAY_SECONDS = 2.0


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


class Supervisor:
    """Starts a replica again when it exits while the fleet is meant to be running."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    def __enter__(self) -> Supervisor:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        self.thread.join()

    def _watch(self) -> None:
        reported: set[int | None] = set()
        while not self.stopping.wait(0.5):
            for process in self.fleet.processes:
                code = process.exit_code()
                if code is None or process.pid in reported:
                    continue
                reported.add(process.pid)
                how = f"signal {-code}" if code < 0 else f"code {code}"
                print(f"{process.name} (pid {process.pid}) exited with {how}", flush=True)
                # Exit code 0 is a replica that was asked to stop (a Ctrl-C in the terminal
                # reaches it too): only one that crashed or was killed is started again.
                if code != 0:
                    self._restart(process)

    def _restart(self, process: ServiceProcess) -> None:
        if self.stopping.wait(RESTART_DELAY_SECONDS):
            return
        process.start()
        print(f"{process.name} started again (pid {process.pid})", flush=True)


def banner(port: int, fleet: Fleet, settings: Settings, where: list[str]) -> str:
    """What runs where, and tokens to try it with."""
    base = f"http://127.0.0.1:{port}"
    lines = [f"campaign placement, production shape: router on {base}", "", *where, ""]
    lines += [
        f"  {p.name:<12} {p.url}  (pid {p.pid})  {base}/{p.service}/docs" for p in fleet.processes
    ]
    lines += ["", f"logs: {fleet.log_dir}", "", "tokens (12 h):"]
    lines += [f"  {r.value:<10} {mint_token(f'dev-{r.value}', [r], settings)}" for r in Role]
    lines += [
        "",
        f"the demo against it: JWT_SECRET='{settings.jwt_secret}' DEMO_BASE_URL={base} make demo",
        "Ctrl-C stops everything above.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    """Start the shape, serve the router until interrupted, then stop what was started."""
    parser = argparse.ArgumentParser(prog="python -m distributed")
    parser.add_argument(
        "--replicas",
        action="append",
        default=[],
        metavar="SERVICE=N",
        help="processes of one service (default 1 each); repeat for several services",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args()
    replicas = parse_replicas(args.replicas)
    # SIGTERM stops us like Ctrl-C does, also while starting (uvicorn takes both over later).
    signal.signal(signal.SIGTERM, _interrupt)
    run_dir = Path(tempfile.mkdtemp(prefix="cp-distributed-"))
    started = ExitStack()
    try:
        serve(started, replicas, args.port, run_dir)
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C must not cut the stopping short and leave processes behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stopping every process this command started …", flush=True)
        started.close()
    print("stopped", flush=True)
    return 0


def serve(started: ExitStack, replicas: dict[str, int], port: int, run_dir: Path) -> None:
    """Start everything, registering each stop with ``started``; serve the router."""
    where: list[str] = []
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    idempotence = os.environ.get("KAFKA_ENABLE_IDEMPOTENCE", "true")
    if not servers:
        broker = LocalBroker(log_dir=run_dir)
        started.callback(broker.stop)
        servers = broker.start()
        idempotence = "false"  # Tansu has no idempotent producer
        pid = broker.process.pid if broker.process else None
        where.append(f"  broker       Tansu at {servers}  (pid {pid}, memory only)")
    else:
        where.append(f"  broker       {servers}")
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        data_dir = run_dir / "pg"
        started.callback(stop_server, data_dir)
        database_url = start_server(data_dir, cleanup_mode="delete")
        where.append(
            f"  database     embedded PostgreSQL  (pid {server_pid(data_dir)}, throw-away)"
        )
    else:
        where.append("  database     DATABASE_URL")
    secret = os.environ.get("JWT_SECRET") or secrets.token_urlsafe(32)
    # Production mode refuses the development key that seals stored secrets too; a key made for
    # the run is printed, since a database kept after it can only be read with it.
    secret_keys = os.environ.get("SECRET_KEYS") or json.dumps([new_key()])
    if "SECRET_KEYS" not in os.environ:
        where.append(f"  SECRET_KEYS  {secret_keys}  (made for this run)")
    env = {
        "BUS": "kafka",
        "KAFKA_BOOTSTRAP_SERVERS": servers,
        "KAFKA_ENABLE_IDEMPOTENCE": idempotence,
        "DATABASE_URL": database_url,
        "JWT_SECRET": secret,
        "SECRET_KEYS": secret_keys,
    }
    subprocess.run(
        [sys.executable, "-m", "allinone", "migrate"], env={**os.environ, **env}, check=True
    )
    fleet = Fleet(replicas, env, run_dir / "logs")
    started.callback(fleet.stop)
    fleet.start()
    fleet.wait_ready()
    settings = Settings(jwt_secret=secret, secret_keys=json.loads(secret_keys))
    print(banner(port, fleet, settings, where), flush=True)
    started.enter_context(Supervisor(fleet))
    uvicorn.run(
        Router(fleet.upstreams()),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        # The replica's own Date and Server headers pass through; no second copy of each.
        server_header=False,
        date_header=False,
    )


if __name__ == "__main__":
    sys.exit(main())
