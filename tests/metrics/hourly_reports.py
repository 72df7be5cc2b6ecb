"""What the hourly tests share: the channel, the clock and the canonical batch of hours."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

FEED = uuid.uuid4()
NOW = datetime(2024, 6, 12, 4, 0, tzinfo=UTC)
WHOLE_DAY = -1


def hourly_report(at: str, *rows: tuple[str, str, int, str, str]) -> dict[str, Any]:
    """A canonical batch of (entity, day, hour, metric, value) rows; hour -1: the whole day."""
    return {
        "format": "canonical",
        "report_time": at,
        "rows": [
            {"entity": e, "day": d, "metric": m, "value": v, **({} if h < 0 else {"hour": h})}
            for e, d, h, m, v in rows
        ],
    }
