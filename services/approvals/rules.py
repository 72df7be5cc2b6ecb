"""Approvals' business rules as plain functions: no database, no HTTP."""

from __future__ import annotations

from collections.abc import Iterable


def separation_of_duties(
    actor: str, requester: str, decided: Iterable[tuple[str, int]], stage: int
) -> str | None:
    """Why ``actor`` may not decide ``stage`` of a request filed by ``requester``, given who
    already decided which stage (``decided``: (who, stage) pairs); None when nothing stands in
    the way. Nobody approves their own request, and one person fills one stage of it at most."""
    if actor == requester:
        return "nobody approves their own request"
    if any(who == actor and at != stage for who, at in decided):
        return "one person cannot fill two stages of the same request"
    return None
