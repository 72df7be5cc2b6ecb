"""``make chaos``: the kill -9 harness with the full figures (at least 10,000 events, 100 kills)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

from chaos.harness import run
from shared.kit.embedded_pg import start_server, stop_server


def main() -> int:
    """Run once and print the table; exit 1 when anything was lost, duplicated or reordered."""
    parser = argparse.ArgumentParser(prog="python -m chaos")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--min-kills", type=int, default=100)
    parser.add_argument("--probability", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    server = os.environ.get("CHAOS_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    data_dir = None
    if not server:
        data_dir = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
        server = start_server(data_dir, cleanup_mode="delete")
    try:
        report = asyncio.run(
            run(
                server_url=server,
                events=args.events,
                min_kills=args.min_kills,
                probability=args.probability,
                seed=args.seed,
            )
        )
    finally:
        if data_dir is not None:
            stop_server(data_dir)
    print(report.table())
    broken = report.lost or report.duplicate_effects or report.order_violations
    return 1 if broken or not report.finished else 0


if __name__ == "__main__":
    sys.exit(main())
