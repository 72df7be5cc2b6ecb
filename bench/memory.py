"""Peak RSS of a metrics process ingesting one 10,000-row batch (report only).

Run as its own process, ``python -m bench.memory DATABASE_URL ROWS``: it starts the metrics
service app in-process (lifespan, relay and consumers on the embedded bus, jobs off), ingests a
small warm-up batch, then one signed batch of ROWS rows through the webhook endpoint (in-process
ASGI, so the process measured is the one ingesting). Prints one JSON line with
``ru_maxrss`` before and after the batch (KiB).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import uuid
from datetime import date, timedelta

import httpx

from bench.common import add_source, signed_headers
from services.metrics.app import DEFINITION as METRICS
from shared.kit.app import create_service_app
from shared.kit.settings import BusKind, Settings

METRIC_NAMES = ("impressions", "clicks", "conversions", "cost")


def _body(rows: int, tag: str) -> bytes:
    per_day = 250 * len(METRIC_NAMES)
    return json.dumps(
        {
            "format": "canonical",
            "report_time": "2024-06-08T09:00:00Z",
            "rows": [
                {
                    "entity": f"{tag}-c{(n % per_day) // len(METRIC_NAMES)}",
                    "day": (date(2024, 1, 1) + timedelta(days=n // per_day)).isoformat(),
                    "metric": METRIC_NAMES[n % len(METRIC_NAMES)],
                    "value": str(100 + n),
                }
                for n in range(rows)
            ],
        }
    ).encode()


def _maxrss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def main(url: str, rows: int) -> dict[str, int]:
    settings = Settings(
        database_url=url, bus=BusKind.EMBEDDED, jobs_enabled=False, log_level="WARNING"
    )
    app = create_service_app(METRICS, settings=settings, database_url=url)
    async with app.router.lifespan_context(app):
        source_id, secret = await add_source(url, "bench-memory")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def post(body: bytes) -> None:
                delivery = f"bench-mem-{uuid.uuid4()}"
                answer = await client.post(
                    f"/metrics/webhooks/{source_id}",
                    content=body,
                    headers=signed_headers(secret, delivery, body),
                )
                answer.raise_for_status()

            await post(_body(100, "warm"))
            big = _body(rows, "big")
            before = _maxrss()
            await post(big)
            after = _maxrss()
    return {"rows": rows, "body_bytes": len(big), "maxrss_before_kib": before, "maxrss_kib": after}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], int(sys.argv[2])))))
