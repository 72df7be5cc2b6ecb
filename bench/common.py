"""What every bench shares: sizes (full or ``BENCH_QUICK``), ports, percentiles, processes."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from services.metrics.facts.signatures import sign
from shared.contract.types import Role
from shared.kit.settings import Settings
from shared.kit.tokens import mint_token

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0", "false")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))  # measured runs; one warm-up run comes first
ROOT = Path(__file__).resolve().parents[1]


STARTED = time.perf_counter()

# The bench measures capacity, so the per-client limits (50 writes/s per bearer token, 200
# webhook deliveries/s per source by default) are lifted in every process it starts; the
# limiter middleware itself still runs and is part of the cost measured.
UNLIMITED = {"RATE_LIMIT_WRITES": "1000000/second", "RATE_LIMIT_WEBHOOKS": "1000000/second"}


def bearer(role: Role, who: str) -> dict[str, str]:
    """An Authorization header with a development token of one role."""
    return {"Authorization": f"Bearer {mint_token(who, [role], Settings())}"}


def progress(text: str) -> None:
    """One progress line, with seconds since the bench started."""
    print(f"[{time.perf_counter() - STARTED:5.0f} s] {text}", flush=True)


def size(full: int, quick: int, env: str | None = None) -> int:
    """A size: the env override, else the quick or the full default."""
    if env and (configured := os.environ.get(env)):
        return int(configured)
    return quick if QUICK else full


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def rss_kib(pid: int) -> tuple[int, int]:
    """(current, peak) resident set size of a live process, KiB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["VmHWM"]


def log_path(what: str) -> Path:
    """Where a server process started by the bench writes its output."""
    return Path(tempfile.gettempdir()) / f"cp-bench-{what}.log"


async def start_process(
    args: Sequence[str], env: Mapping[str, str], health_url: str, what: str
) -> asyncio.subprocess.Process:
    """Start ``python <args>`` (output to ``log_path(what)``); wait for ``health_url``."""
    with log_path(what).open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=log,
            stderr=log,
        )
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            try:
                if (await client.get(health_url)).status_code == 200:
                    return process
            except httpx.HTTPError:
                pass
            if process.returncode is not None:
                break
            await asyncio.sleep(0.1)
    await stop_process(process)
    raise RuntimeError(f"{what} did not start; see {log_path(what)}")


async def stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            process.kill()
            await process.wait()


async def run_load(spec: dict[str, Any], *logs: str) -> dict[str, Any]:
    """One run of bench/load.py in its own process; ``logs`` name the servers' log files."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.load",
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate(json.dumps(spec).encode())
    if process.returncode:
        raise RuntimeError("the load generator failed")
    result: dict[str, Any] = json.loads(out)
    if result["errors"]:
        where = " or ".join(str(log_path(name)) for name in logs)
        raise RuntimeError(f"load run had errors: {result['statuses']}; server output in {where}")
    return result


def signed_headers(secret: str, delivery: str, body: bytes) -> dict[str, str]:
    """The headers of a Standard Webhooks delivery of ``body``, signed now."""
    stamp = int(time.time())
    return {
        "content-type": "application/json",
        "webhook-id": delivery,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, delivery, stamp, body),
    }


def low_ctr_day(entity: str) -> bytes:
    """One ocean_engine report of a day with a CTR of 1.2 %, which the benches' rule alerts on."""
    return json.dumps(
        {
            "format": "ocean_engine",
            "report_time": "2024-06-08T10:00:00Z",
            "rows": [
                {
                    "campaign_id": entity,
                    "stat_datetime": "2024-06-07 00:00:00",
                    "show_cnt": 100_000,
                    "click_cnt": 1_200,
                    "convert_cnt": 60,
                    "stat_cost": "2000.00",
                }
            ],
        }
    ).encode()


async def add_source(url: str, name: str) -> tuple[uuid.UUID, str]:
    """A signed internal metrics source written straight into the (migrated) database."""
    from services.metrics.facts.signatures import new_secret
    from services.metrics.models import Source
    from shared.kit.db import create_engine, create_sessionmaker
    from shared.kit.secrets import secret_box

    engine = create_engine(url)
    secret, source_id = new_secret(), uuid.uuid4()
    async with create_sessionmaker(engine)() as session, session.begin():
        session.add(
            Source(
                id=source_id,
                name=name,
                platform="internal",
                account_id=name,
                timezone="Asia/Shanghai",
                currency="CNY",
                settlement_days=28,
                secrets=[
                    {
                        "id": "s1",
                        "sealed": secret_box().seal(secret),
                        "active": True,
                        "created_at": "2024-01-01",
                    }
                ],
            )
        )
    await engine.dispose()
    return source_id, secret
