"""REST under load, each figure against the one service process that serves it, as deployed.

Every service runs alone (``python -m services.<name>``, embedded bus, one process each, as
``make run-distributed`` runs them), so the consumers a request wakes (tasks learning a plan,
planning and alerts reading a decision) work in their own processes, not in the measured one.
The measured process still runs its own relay, which publishes the events its requests record:
that is part of the service. The load generator (bench/load.py, its own process) talks to the
service's port directly, no router in between.

The baseline is a bare FastAPI ``SELECT 1`` endpoint on an asyncpg pool (bench/bare.py), served
by uvicorn in the same kind of process, under the same concurrency, while the fleet is up.
Goals: create plan, list tasks and decide approval each >= 0.3 x the bare endpoint's req/s.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.common import (
    QUICK,
    RUNS,
    UNLIMITED,
    bearer,
    free_port,
    median,
    progress,
    run_load,
    size,
    start_process,
    stop_process,
)
from bench.profiling import profiled
from demo import seed
from shared.contract.types import Role
from shared.kit import migrations
from shared.kit.bus.embedded import EmbeddedTransport
from shared.kit.db import create_engine

LOAD_SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", 1.5 if QUICK else 5))
DECISIONS = size(600, 150, "BENCH_DECISIONS")  # per run
CONCURRENCY = size(8, 8, "BENCH_CONCURRENCY")
RATIO_GOAL = 0.3
SERVICES = ("planning", "tasks", "approvals", "alerts", "metrics")


SPECIALIST = bearer(Role.SPECIALIST, "bench-specialist")
LEGAL = bearer(Role.LEGAL, "bench-legal")

Requests = Callable[[], Awaitable[list[dict[str, Any]]]]


async def _median_load(
    port: int,
    requests: Requests,
    cycle: bool,
    profile: tuple[int | None, str] = (None, ""),
    others: Sequence[int] = (),
) -> dict[str, float]:
    """Warm-up run, then RUNS runs; the median req/s, p99 and server CPU ms per request.

    ``profile`` names the server process (whose CPU time is read) and figure to sample in the
    measured runs. CPU per request depends much less on what else the machine runs than req/s.
    """
    rates, p99s, cpu, machine, busy, woken = [], [], [], [], [], []
    pid, figure = profile
    for run in range(RUNS + 1):
        spec = {
            "port": port,
            "concurrency": CONCURRENCY,
            "seconds": LOAD_SECONDS if run else min(LOAD_SECONDS, 1.0),
            "cycle": cycle,
            "requests": await requests(),
        }
        before, machine_before = cpu_seconds(pid), machine_seconds()
        others_before = sum(cpu_seconds(other) for other in others)
        async with profiled(pid if run else None, figure):
            result = await run_load(spec, *(f"rest-{s}" for s in SERVICES), "bare")
        if run:
            count = max(1, result["count"])
            rates.append(result["rps"])
            p99s.append(result["p99_ms"])
            cpu.append((cpu_seconds(pid) - before) * 1000 / count)
            others_used = sum(cpu_seconds(other) for other in others) - others_before
            woken.append(others_used * 1000 / count)
            used, elapsed = (b - a for a, b in zip(machine_before, machine_seconds(), strict=True))
            machine.append(used * 1000 / count)
            busy.append(used / elapsed if elapsed else 0.0)
        await asyncio.sleep(0.5 if QUICK else 1.0)  # let relays and consumers catch up
    return {
        "rps": median(rates),
        "p99_ms": median(p99s),
        "cpu_ms": median(cpu),
        "machine_cpu_ms": median(machine),
        "machine_busy": median(busy),
        "other_services_cpu_ms": median(woken),
    }


def machine_seconds() -> tuple[float, float]:
    """CPU seconds every process on the machine used (all cores), and all cores' seconds, from
    /proc/stat: per request, what the request cost everywhere (the server, PostgreSQL, the
    consumers it woke in the other service processes, the load generator)."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields[:8]) - idle) / tick, sum(fields[:8]) / tick


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time a live process has used, from /proc (0 without a pid)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _migrate(url: str) -> None:
    """Migrate every service once, as the distributed launcher does before any replica."""
    engine = create_engine(url)
    try:
        for name in SERVICES:
            await migrations.upgrade(engine, name, Path(f"services/{name}/migrations"))
        await EmbeddedTransport(engine).ensure_schema()
    finally:
        await engine.dispose()


async def _start_fleet(url: str) -> dict[str, tuple[asyncio.subprocess.Process, int]]:
    """One process per service on its own port; {name: (process, port)}."""
    env = {
        **UNLIMITED,
        "DATABASE_URL": url,
        "BUS": "embedded",
        "LOG_LEVEL": "WARNING",
        "MIGRATE_ON_START": "false",
    }
    fleet: dict[str, tuple[asyncio.subprocess.Process, int]] = {}
    try:
        for name in SERVICES:
            port = free_port()
            process = await start_process(
                ["-m", f"services.{name}"],
                {**env, "PORT": str(port)},
                f"http://127.0.0.1:{port}/readyz",
                f"rest-{name}",
            )
            fleet[name] = (process, port)
    except BaseException:
        await _stop_fleet(fleet)
        raise
    return fleet


async def _stop_fleet(fleet: dict[str, tuple[asyncio.subprocess.Process, int]]) -> None:
    await asyncio.gather(*(stop_process(process) for process, _ in fleet.values()))


async def _plan_with_tasks(planning: str, tasks: str) -> str:
    """A plan created in planning, learnt by tasks through the bus, with the seed's WBS."""
    async with (
        httpx.AsyncClient(base_url=planning, timeout=30) as plans,
        httpx.AsyncClient(base_url=tasks, timeout=30) as work,
    ):
        created = await plans.post("/planning/plans", json=seed.PLAN, headers=SPECIALIST)
        created.raise_for_status()
        plan_id = str(created.json()["plan"]["id"])
        waited = time.perf_counter()
        while (await work.get(f"/tasks/plans/{plan_id}", headers=SPECIALIST)).status_code != 200:
            if time.perf_counter() - waited > 60:
                raise RuntimeError("the tasks service did not learn the new plan within 60 s")
            await asyncio.sleep(0.05)
        progress(f"  tasks learnt the plan in {time.perf_counter() - waited:.1f} s (other process)")
        for row in seed.WBS:
            answer = await work.post(f"/tasks/plans/{plan_id}/tasks", json=row, headers=SPECIALIST)
            answer.raise_for_status()
    return plan_id


def _filer(approvals: str) -> Requests:
    """Files DECISIONS contract requests (untimed) and returns one decision for each."""

    async def decisions() -> list[dict[str, Any]]:
        gate = asyncio.Semaphore(8)
        async with httpx.AsyncClient(base_url=approvals, timeout=30) as http:

            async def file(n: int) -> str:
                async with gate:
                    answer = await http.post(
                        "/approvals/requests",
                        json={"kind": "contract", "title": f"bench contract {n}"},
                        headers=SPECIALIST,
                    )
                    answer.raise_for_status()
                    return str(answer.json()["id"])

            ids = await asyncio.gather(*(file(n) for n in range(DECISIONS)))
        return [
            {
                "method": "POST",
                "path": f"/approvals/requests/{request_id}/decisions",
                "headers": LEGAL,
                "body": {"stage": 0, "decision": "approve"},
            }
            for request_id in ids
        ]

    return decisions


def _fixed(request: dict[str, Any]) -> Requests:
    async def requests() -> list[dict[str, Any]]:
        return [request]

    return requests


async def _bare(url: str) -> dict[str, float]:
    port = free_port()
    process = await start_process(
        ["-m", "bench.bare"],
        {"DATABASE_URL": url, "PORT": str(port)},
        f"http://127.0.0.1:{port}/healthz",
        "bare",
    )
    try:
        one = _fixed({"method": "GET", "path": "/one"})
        return await _median_load(port, one, cycle=True, profile=(process.pid, "rest-bare"))
    finally:
        await stop_process(process)


async def rest_figures(url: str) -> list[dict[str, object]]:
    """Each REST figure in its own service process, against the bare endpoint (same run)."""
    progress("REST: five service processes (embedded bus)")
    await _migrate(url)
    fleet = await _start_fleet(url)
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        base = {name: f"http://127.0.0.1:{port}" for name, (_, port) in fleet.items()}
        plan_id = await _plan_with_tasks(base["planning"], base["tasks"])
        plan = {"method": "POST", "path": "/planning/plans", "headers": SPECIALIST}
        tasks = {"method": "GET", "path": f"/tasks/plans/{plan_id}/tasks", "headers": SPECIALIST}
        # name: (service, profile, cycle the requests?, the requests of one run)
        figures: dict[str, tuple[str, str, bool, Requests]] = {
            "create plan": (
                "planning",
                "rest-create-plan",
                True,
                _fixed({**plan, "body": seed.PLAN}),
            ),
            "list tasks": ("tasks", "rest-list-tasks", True, _fixed(tasks)),
            "decide approval": (
                "approvals",
                "rest-decide-approval",
                False,
                _filer(base["approvals"]),
            ),
        }
        services = {name: figure[0] for name, figure in figures.items()}
        measured: dict[str, dict[str, float]] = {}
        for name, (service, profile, cycle, requests) in figures.items():
            progress(f"REST {name} (python -m services.{service})")
            process, port = fleet[service]
            others = [p.pid for other, (p, _) in fleet.items() if other != service]
            measured[name] = await _median_load(
                port, requests, cycle, (process.pid, profile), others
            )
        progress("REST bare FastAPI SELECT 1 (python -m bench.bare)")
        baseline = await _bare(url)
        connections = await _connections(libpq)
    finally:
        await _stop_fleet(fleet)
    rows: list[dict[str, object]] = []
    for name, figure in measured.items():
        ratio = figure["rps"] / baseline["rps"]
        rows.append(
            {
                "figure": f"REST {name}, req/s ({services[name]} process)",
                "ours": round(figure["rps"]),
                "baseline": round(baseline["rps"]),
                "baseline_is": "bare FastAPI SELECT 1 endpoint, own uvicorn process, same load",
                "ratio": round(ratio, 2),
                "goal": f">= {RATIO_GOAL}",
                "met": ratio >= RATIO_GOAL,
                "p99_ms": round(figure["p99_ms"], 1),
                "baseline_p99_ms": round(baseline["p99_ms"], 1),
                "concurrency": CONCURRENCY,
                "shape": "python -m services.<name>, consumers in their own processes",
            }
        )
        rows.append(
            {
                "figure": f"  … {name} p99 ms",
                "ours": round(figure["p99_ms"], 1),
                "baseline": round(baseline["p99_ms"], 1),
                "ratio": None,
                "goal": "report",
                "met": None,
            }
        )
        rows.append(
            {
                "figure": f"  … {name} server CPU ms per request",
                "ours": round(figure["cpu_ms"], 2),
                "baseline": round(baseline["cpu_ms"], 2),
                "baseline_is": "the bare process's CPU per request",
                "ratio": round(baseline["cpu_ms"] / figure["cpu_ms"], 2)
                if figure["cpu_ms"]
                else None,
                "goal": "report",
                "met": None,
            }
        )
        rows.append(
            {
                "figure": f"  … {name} machine CPU ms per request (all processes)",
                "ours": round(figure["machine_cpu_ms"], 2),
                "baseline": round(baseline["machine_cpu_ms"], 2),
                "baseline_is": "the machine's CPU per bare request",
                "ratio": None,
                "goal": "report",
                "met": None,
                "machine_busy": round(figure["machine_busy"], 2),
                "other_service_processes_cpu_ms": round(figure["other_services_cpu_ms"], 2),
                "baseline_machine_busy": round(baseline["machine_busy"], 2),
            }
        )
    rows.append(
        {
            "figure": "five service processes: DB connections after load",
            "ours": connections,
            "baseline": None,
            "ratio": None,
            "goal": "report",
            "met": None,
        }
    )
    return rows


async def _connections(libpq: str) -> int:
    conn = await asyncpg.connect(libpq)
    try:
        found: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        )
    finally:
        await conn.close()
    return found - 1  # not counting this one
