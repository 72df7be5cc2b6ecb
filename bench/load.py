"""Load generator, run as its own process: ``python -m bench.load < SPEC.json``.

Closed loop: ``concurrency`` keep-alive HTTP/1.1 connections, each sending its next request
as soon as the previous answer is read. A lean hand-written client (asyncio streams on uvloop)
keeps the generator's own cost small next to the server's. The spec is JSON:
``{"port", "concurrency", "seconds", "cycle", "requests": [{"method", "path", "headers",
"body"}]}``; with ``cycle`` the requests repeat for ``seconds``, without it each is sent once.
Prints one JSON line: count, errors, seconds, rps, p50_ms, p99_ms, statuses.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any

import uvloop


def _encode(request: dict[str, Any], port: int) -> bytes:
    body = b"" if request.get("body") is None else json.dumps(request["body"]).encode()
    headers = {"host": f"127.0.0.1:{port}", **request.get("headers", {})}
    if body:
        headers["content-type"] = "application/json"
    headers["content-length"] = str(len(body))
    head = f"{request['method']} {request['path']} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    return head.encode() + b"\r\n" + body


async def _answer(reader: asyncio.StreamReader) -> int:
    """Read one response; its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "transfer-encoding":
            raise RuntimeError("chunked responses are not supported by the load generator")
    if length:
        await reader.readexactly(length)
    return status


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    port = int(spec["port"])
    wires = [_encode(r, port) for r in spec["requests"]]
    cycle = bool(spec.get("cycle", True))
    concurrency = min(int(spec["concurrency"]), len(wires)) if not cycle else spec["concurrency"]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = 0
    next_index = 0
    deadline = time.perf_counter() + float(spec.get("seconds", 5))

    def take() -> bytes | None:
        nonlocal next_index
        if cycle:
            if time.perf_counter() >= deadline:
                return None
            wire = wires[next_index % len(wires)]
        else:
            if next_index >= len(wires):
                return None
            wire = wires[next_index]
        next_index += 1
        return wire

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while (wire := take()) is not None:
                started = time.perf_counter()
                writer.write(wire)
                status = await _answer(reader)
                latencies.append(time.perf_counter() - started)
                statuses[status] += 1
                if status >= 400:
                    errors += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(share: float) -> float:
        return latencies[min(len(latencies) - 1, int(share * len(latencies)))] * 1000

    return {
        "count": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 3),
        "rps": len(latencies) / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "statuses": {str(k): v for k, v in statuses.items()},
    }


def main() -> None:
    spec = json.load(sys.stdin)
    print(json.dumps(uvloop.run(run(spec))))


if __name__ == "__main__":
    main()
