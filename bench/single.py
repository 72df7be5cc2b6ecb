"""Single-row webhooks, and 1,000-row request latency at 70% of peak.

* Single-row signed deliveries through the real metrics service process over HTTP
  (``python -m services.metrics``, small deliveries coalesced in process), 64 in flight from
  the load generator (bench/load.py), against a bare FastAPI endpoint that only reads the
  body and validates it with the same ``REPORT`` TypeAdapter (``python -m bench.single``,
  DATABASE_URL unused, PORT), served the same way. Goal: ratio >= 0.6.
* 1,000-row batches: peak throughput with 8 in flight, then an open-loop load paced at 70% of
  it (latency counted from each request's scheduled start); goal p99 <= 2 x p50.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request

from bench.common import (
    QUICK,
    RUNS,
    UNLIMITED,
    add_source,
    free_port,
    median,
    percentile,
    run_load,
    size,
    start_process,
    stop_process,
)
from bench.load import _answer, _encode
from bench.profiling import profiled
from services.metrics.facts.rows import REPORT
from services.metrics.facts.signatures import sign
from shared.kit import migrations
from shared.kit.bus.embedded import EmbeddedTransport
from shared.kit.db import create_engine

SINGLES = size(20_000, 6_000, "BENCH_SINGLES")  # deliveries per run
IN_FLIGHT = 64
BATCH_ROWS = 1000
PEAK_BATCHES = size(60, 24, "BENCH_PEAK_BATCHES")
PEAK_IN_FLIGHT = 8
PACED_BATCHES = size(300, 80, "BENCH_PACED_BATCHES")
PACED_SHARE = 0.7
METRICS = ("impressions", "clicks", "conversions", "cost")


def create_bare_app() -> FastAPI:
    """Reads the body and validates it with the webhook's TypeAdapter; nothing else."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/metrics/webhooks/{source_id}")
    async def webhook(source_id: uuid.UUID, request: Request) -> dict[str, Any]:
        report = REPORT.validate_json(await request.body())
        return {"source_id": str(source_id), "rows": len(report.rows)}

    return app


async def _register(url: str) -> tuple[uuid.UUID, str]:
    engine = create_engine(url)
    await migrations.upgrade(engine, "metrics", Path("services/metrics/migrations"))
    await EmbeddedTransport(engine).ensure_schema()
    await engine.dispose()
    return await add_source(url, "bench-single")


def _signed(
    source_id: uuid.UUID, secret: str, delivery: str, body: dict[str, Any]
) -> dict[str, Any]:
    """A request for bench/load.py; the load generator sends ``json.dumps(body)``."""
    raw = json.dumps(body).encode()
    stamp = int(time.time())
    return {
        "method": "POST",
        "path": f"/metrics/webhooks/{source_id}",
        "headers": {
            "webhook-id": delivery,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(secret, delivery, stamp, raw),
        },
        "body": body,
    }


def _singles(source_id: uuid.UUID, secret: str, run: int) -> list[dict[str, Any]]:
    """Unique single-row deliveries (2,000 entities x 4 metrics, newer reports each run)."""
    at = (datetime(2024, 6, 8, 9, tzinfo=UTC) + timedelta(minutes=run)).isoformat()
    return [
        _signed(
            source_id,
            secret,
            f"single-{run}-{n}",
            {
                "format": "canonical",
                "report_time": at,
                "rows": [
                    {
                        "entity": f"e{n % 2000}",
                        "day": "2024-06-07",
                        "metric": METRICS[n // 2000 % 4],
                        "value": str(n),
                    }
                ],
            },
        )
        for n in range(SINGLES)
    ]


def _batches(
    source_id: uuid.UUID, secret: str, tag: str, count: int, day0: date
) -> list[dict[str, Any]]:
    """1,000-row deliveries: 250 entities x 4 metrics on one day each."""
    out = []
    for b in range(count):
        day = (day0 + timedelta(days=b % 300)).isoformat()
        rows = [
            {"entity": f"{tag}-c{n}", "day": day, "metric": m, "value": str(100 + n)}
            for n in range(BATCH_ROWS // len(METRICS))
            for m in METRICS
        ]
        body = {"format": "canonical", "report_time": "2024-06-08T09:00:00Z", "rows": rows}
        out.append(_signed(source_id, secret, f"{tag}-{b}", body))
    return out


async def _load(spec: dict[str, Any]) -> dict[str, Any]:
    return await run_load(spec, "metrics-single", "bare-single")


async def _paced(port: int, requests: list[dict[str, Any]], rate: float) -> list[float]:
    """Open loop: request i starts at i / rate s; its latency counts from that moment."""
    wires = [_encode(r, port) for r in requests]
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(32)]
    for connection in connections:
        idle.put_nowait(connection)
    latencies: list[float] = []
    failures = 0

    async def one(wire: bytes, due: float) -> None:
        nonlocal failures
        reader, writer = await idle.get()
        try:
            writer.write(wire)
            if await _answer(reader) >= 400:
                failures += 1
            latencies.append(time.perf_counter() - due)
        finally:
            idle.put_nowait((reader, writer))

    began = time.perf_counter()
    tasks = []
    for n, wire in enumerate(wires):
        due = began + n / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(wire, due)))
    await asyncio.gather(*tasks)
    for _reader, writer in connections:
        writer.close()
    if failures:
        raise RuntimeError(f"{failures} paced requests failed")
    return latencies


async def single_figures(url: str) -> list[dict[str, object]]:
    """Single-row webhooks against the bare endpoint; 1,000-row latency at 70% of peak."""
    source_id, secret = await _register(url)
    env = {
        **UNLIMITED,
        "DATABASE_URL": url,
        "BUS": "embedded",
        "MIGRATE_ON_START": "false",
        "JOBS_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }
    ours_port, bare_port = free_port(), free_port()
    service = await start_process(
        ["-m", "services.metrics"],
        {**env, "PORT": str(ours_port)},
        f"http://127.0.0.1:{ours_port}/healthz",
        "metrics-single",
    )
    try:
        bare = await start_process(
            ["-m", "bench.single"],
            {**env, "PORT": str(bare_port)},
            f"http://127.0.0.1:{bare_port}/healthz",
            "bare-single",
        )
        try:
            ours_rates, bare_rates = [], []
            for run in range(RUNS + 1):  # the first run warms up
                requests = _singles(source_id, secret, run)
                spec = {"concurrency": IN_FLIGHT, "cycle": False, "requests": requests}
                async with profiled(service.pid if run else None, "single-row-webhooks"):
                    ours = await _load({**spec, "port": ours_port})
                base = await _load({**spec, "port": bare_port})
                if run:
                    ours_rates.append(ours["rps"])
                    bare_rates.append(base["rps"])
        finally:
            await stop_process(bare)
        peak = await _load(
            {
                "port": ours_port,
                "concurrency": PEAK_IN_FLIGHT,
                "cycle": False,
                "requests": _batches(source_id, secret, "peak", PEAK_BATCHES, date(2023, 1, 1)),
            }
        )
        rate = PACED_SHARE * peak["rps"]
        requests = _batches(source_id, secret, "paced", PACED_BATCHES, date(2022, 1, 1))
        latencies = await _paced(ours_port, requests, rate)
    finally:
        await stop_process(service)
    skip = max(1, len(latencies) // 10)  # the first tenth warms up
    sample = [s * 1000 for s in latencies[skip:]]
    p50, p99 = percentile(sample, 0.50), percentile(sample, 0.99)
    ours_rate, bare_rate = median(ours_rates), median(bare_rates)
    return [
        {
            "figure": "single-row signed webhooks, rows/s (64 in flight)",
            "ours": round(ours_rate),
            "baseline": round(bare_rate),
            "baseline_is": "bare FastAPI endpoint: read body + REPORT.validate_json",
            "ratio": round(ours_rate / bare_rate, 2),
            "goal": ">= 0.6",
            "met": ours_rate / bare_rate >= 0.6,
            "deliveries_per_run": SINGLES,
            "quick": QUICK,
        },
        {
            "figure": "1,000-row request at 70% of peak: p99 ms (vs 2 x p50)",
            "ours": round(p99, 1),
            "baseline": round(2 * p50, 1),
            "baseline_is": "twice the p50 of the same paced run",
            "ratio": round(p99 / p50, 2),
            "goal": "p99 <= 2 x p50",
            "met": p99 <= 2 * p50,
            "p50_ms": round(p50, 1),
            "peak_requests_per_s": round(peak["rps"], 1),
            "paced_requests_per_s": round(rate, 1),
            "paced_requests": len(latencies),
        },
    ]


def main() -> None:
    """Serve the bare endpoint (PORT), as uvicorn serves the services."""
    uvicorn.run(
        create_bare_app(),
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        log_config=None,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
