"""Where a benchmarked server spends its time: py-spy samples taken from outside the process.

With ``BENCH_PROFILE=1`` (``make profile``) the bench attaches py-spy to the server process for
the measured runs of a figure (``profiled``); samples of every run of one figure accumulate in
``bench/results/profiles/<figure>.txt`` (py-spy's raw collapsed stacks) next to a ``.json`` with
the seconds sampled. ``python -m bench.profiling`` then summarises each figure: how busy the
server's main thread was, the share of its busy time per layer (HTTP server, framework, our
code, ORM, driver, validation, …, by the innermost Python frame) and the functions that cost
most, inclusive (our code) and self (any code). Idle samples (the event loop waiting on the
socket or on PostgreSQL) are not recorded, so ``busy`` is CPU time over wall time.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.common import ROOT

PROFILE = os.environ.get("BENCH_PROFILE", "") not in ("", "0", "false")
PROFILES = ROOT / "bench" / "results" / "profiles"
RATE = 200  # samples per second
PY_SPY = Path(sys.executable).with_name("py-spy")

# The innermost frame's file decides the layer; the first matching fragment wins.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("driver (asyncpg)", ("/asyncpg/",)),
    ("ORM (SQLAlchemy)", ("/sqlalchemy/",)),
    ("validation (pydantic)", ("/pydantic/", "pydantic_core")),
    ("HTTP server (uvicorn, h11)", ("/uvicorn/", "/h11/", "httptools")),
    ("framework (Starlette, FastAPI)", ("/starlette/", "/fastapi/", "/anyio/")),
    ("auth, signatures, JSON (jwt, hmac, json)", ("/jwt/", "hmac.py", "hashlib", "/json/")),
    ("rate limiter (limits)", ("/limits/",)),
    ("logging and metrics", ("/logging/", "prometheus_client", "pythonjsonlogger")),
    ("our code (services, shared)", ("/services/", "/shared/", "/allinone/")),
    ("event loop (asyncio)", ("/asyncio/", "uvloop")),
)
OURS = ("/services/", "/shared/", "/allinone/")


@asynccontextmanager
async def profiled(pid: int | None, figure: str) -> AsyncIterator[None]:
    """Sample ``pid`` while the block runs (only with ``BENCH_PROFILE``); runs accumulate."""
    if not PROFILE or pid is None:
        yield
        return
    PROFILES.mkdir(parents=True, exist_ok=True)
    part = PROFILES / f"{figure}.part"
    spy = await asyncio.create_subprocess_exec(
        str(PY_SPY),
        *("record", "--pid", str(pid), "--rate", str(RATE), "--format", "raw"),
        *("--nonblocking", "--full-filenames", "--output", str(part)),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await asyncio.sleep(0.3)  # attached before the first request
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - started
        spy.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
        await spy.wait()
        if part.exists():
            with (PROFILES / f"{figure}.txt").open("a") as stacks:
                stacks.write(part.read_text())
            part.unlink()
            meta = PROFILES / f"{figure}.json"
            sampled = json.loads(meta.read_text())["seconds"] if meta.exists() else 0.0
            meta.write_text(json.dumps({"seconds": sampled + seconds, "rate": RATE}))


def reset() -> None:
    """Forget the profiles of an earlier run."""
    for old in PROFILES.glob("*"):
        old.unlink()


@dataclass(frozen=True)
class Summary:
    figure: str
    samples: int
    busy: float  # share of wall time the main thread was on the CPU
    layers: list[tuple[str, float]]
    ours_inclusive: list[tuple[str, float]]
    self_time: list[tuple[str, float]]


def _stacks(lines: Iterable[str]) -> Iterable[tuple[list[str], int]]:
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if stack and count.isdigit():
            yield stack.split(";"), int(count)


def _layer(frame: str) -> str:
    return next((name for name, marks in LAYERS if any(mark in frame for mark in marks)), "other")


def _short(frame: str) -> str:
    """``name (/long/path/pkg/mod.py:12)`` → ``name (pkg/mod.py)``."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({'/'.join(Path(path).parts[-2:])})"


def summarise(figure: str, top: int = 8) -> Summary:
    meta = json.loads((PROFILES / f"{figure}.json").read_text())
    layers: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    total = 0
    with (PROFILES / f"{figure}.txt").open() as stacks:
        for frames, count in _stacks(stacks):
            total += count
            layers[_layer(frames[-1])] += count
            self_time[_short(frames[-1])] += count
            for frame in {f for f in frames if any(mark in f for mark in OURS)}:
                ours[_short(frame)] += count
    share = 1 / total if total else 0.0
    return Summary(
        figure=figure,
        samples=total,
        busy=total / (meta["seconds"] * meta["rate"]),
        layers=[(name, n * share) for name, n in layers.most_common()],
        ours_inclusive=[(name, n * share) for name, n in ours.most_common(top)],
        self_time=[(name, n * share) for name, n in self_time.most_common(top)],
    )


def report(summary: Summary) -> str:
    lines = [
        f"## {summary.figure}",
        "",
        f"{summary.samples} samples; the server's main thread was busy "
        f"{summary.busy:.0%} of the measured wall time.",
        "",
        "| layer (innermost frame) | share of busy time |",
        "|---|---|",
        *(f"| {name} | {part:.1%} |" for name, part in summary.layers),
        "",
        "| our function, inclusive | share |",
        "|---|---|",
        *(f"| `{name}` | {part:.1%} |" for name, part in summary.ours_inclusive),
        "",
        "| function, self | share |",
        "|---|---|",
        *(f"| `{name}` | {part:.1%} |" for name, part in summary.self_time),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    figures = sorted(path.stem for path in PROFILES.glob("*.json"))
    if not figures:
        sys.exit("no profiles: run `make profile` (BENCH_PROFILE=1) first")
    text = "\n".join(report(summarise(figure)) for figure in figures)
    (PROFILES / "summary.md").write_text(text)
    print(text)
    print(f"written to {(PROFILES / 'summary.md').relative_to(ROOT)}")


if __name__ == "__main__":
    main()
