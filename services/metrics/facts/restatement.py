"""The restatement rule, "the newer report wins", for the Python side of the write path.

Platforms restate figures (Meta for 28 days): a fact keeps the value of the newest report for
its key. sql.NEWER_REPORT_WINS is the same rule in the upsert; tests run both on the same cases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

Outcome = Literal["inserted", "revised", "stale"]


def restates(stored: datetime | None, incoming: datetime) -> bool:
    """Whether a report made at ``incoming`` replaces the fact stored from a report made at
    ``stored`` (None: nothing stored): only a newer one does; on a tie the stored one stays."""
    return stored is None or stored < incoming


def outcome(stored: datetime | None, incoming: datetime) -> Outcome:
    """What a report does to the fact of its key: insert it, revise it, or change nothing."""
    if stored is None:
        return "inserted"
    return "revised" if restates(stored, incoming) else "stale"
