"""Trend maths: a value against an earlier one, and the windows compared (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

SIX_PLACES = Decimal("0.000001")


class Direction(StrEnum):
    """Which way a metric moved; ``no_data`` when either side has no figure to compare."""

    UP = "up"
    DOWN = "down"
    FLAT = "flat"
    NO_DATA = "no_data"


@dataclass(frozen=True)
class Change:
    """A value against an earlier one: the difference and the difference over the earlier
    value (``relative`` 0.25 is +25 %; None when the earlier value is 0 or missing)."""

    current: Decimal | None
    earlier: Decimal | None
    direction: Direction
    absolute: Decimal | None
    relative: Decimal | None


def change(current: Decimal | None, earlier: Decimal | None) -> Change:
    """How ``current`` differs from ``earlier``; a side without data is said, never taken as 0."""
    if current is None or earlier is None:
        return Change(current, earlier, Direction.NO_DATA, None, None)
    difference = current - earlier
    direction = (
        Direction.UP if difference > 0 else Direction.DOWN if difference < 0 else Direction.FLAT
    )
    relative = (difference / earlier).quantize(SIX_PLACES) if earlier else None
    return Change(current, earlier, direction, difference, relative)


def previous_window(first: date, last: date) -> tuple[date, date]:
    """The equally long period just before [first, last]."""
    length = (last - first).days + 1
    return first - timedelta(days=length), first - timedelta(days=1)


def aligned_window(
    first: date, last: date, starts_on: date, other_starts_on: date
) -> tuple[date, date]:
    """The same days of another campaign, counted from its own start: days 3-9 of this
    campaign compare with days 3-9 of the earlier one, so a launch spike meets a launch spike."""
    shift = other_starts_on - starts_on
    return first + shift, last + shift


def version_windows(
    versions: list[tuple[int, date]], current: int, starts_on: date, ends_on: date
) -> list[tuple[int, date, date]]:
    """(version, first, last day) each earlier version was in force within the campaign: from
    the day it came in (the campaign's start at the earliest) to the day before the next one
    did; a version replaced before the campaign started ran no day of it and is left out."""
    windows = []
    ordered = sorted(versions)
    for (version, came_in), (_next, replaced) in pairwise(ordered):
        if version >= current:
            break
        first, last = max(came_in, starts_on), min(replaced - timedelta(days=1), ends_on)
        if first <= last:
            windows.append((version, first, last))
    return windows


def per_day(value: Decimal | None, first: date, last: date) -> Decimal | None:
    """A total as a daily average over [first, last], so periods of unequal length compare."""
    if value is None:
        return None
    return (value / ((last - first).days + 1)).quantize(SIX_PLACES)
