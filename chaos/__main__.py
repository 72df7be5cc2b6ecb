"""``make chaos``: the kill -9 harness with the full figures, over the embedded log and Kafka.

At least 10,000 events and 100 kills per bus. Kafka is KAFKA_BOOTSTRAP_SERVERS when set
(idempotent producer unless KAFKA_ENABLE_IDEMPOTENCE=false), else a Tansu started here (memory
only, no idempotent producer). ``--cpu-hog N`` keeps N busy processes running throughout, to
show the verdict does not depend on the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from chaos.buses import KafkaTarget
from chaos.harness import Plan, run
from chaos.report import Report
from distributed.broker import LocalBroker
from shared.kit.embedded_pg import start_server, stop_server


@contextmanager
def _postgres() -> Iterator[str]:
    if server := os.environ.get("CHAOS_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL"):
        yield server
        return
    data_dir = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
    try:
        yield start_server(data_dir, cleanup_mode="delete")
    finally:
        stop_server(data_dir)


@contextmanager
def _kafka() -> Iterator[KafkaTarget]:
    if servers := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        idempotence = os.environ.get("KAFKA_ENABLE_IDEMPOTENCE", "true").lower() != "false"
        yield KafkaTarget(servers, idempotence)
        return
    with LocalBroker() as broker:
        yield KafkaTarget(broker.bootstrap_servers, idempotence=False)


@contextmanager
def _cpu_hog(processes: int) -> Iterator[None]:
    """Busy loops, one per process, for as long as the run lasts."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def main() -> int:
    """Run each bus once and print its table; exit 1 unless every bus passed."""
    parser = argparse.ArgumentParser(prog="python -m chaos")
    parser.add_argument("--bus", choices=("embedded", "kafka", "both"), default="both")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--min-kills", type=int, default=100)
    parser.add_argument("--probability", type=float, default=0.05)
    parser.add_argument("--cpu-hog", type=int, default=0, metavar="N")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    plan = Plan(events=args.events, min_kills=args.min_kills, probability=args.probability)
    buses = ("embedded", "kafka") if args.bus == "both" else (args.bus,)
    reports: list[Report] = []
    with ExitStack() as stack:
        server = stack.enter_context(_postgres())
        kafka = stack.enter_context(_kafka()) if "kafka" in buses else None
        stack.enter_context(_cpu_hog(args.cpu_hog))
        for name in buses:
            target = kafka if name == "kafka" else None
            report = asyncio.run(run(server_url=server, kafka=target, plan=plan, seed=args.seed))
            print(f"\n{report.table()}", flush=True)
            reports.append(report)
    if args.cpu_hog:
        print(f"\n(with {args.cpu_hog} busy-loop processes on {os.cpu_count()} cores throughout)")
    return 0 if all(report.passed for report in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
