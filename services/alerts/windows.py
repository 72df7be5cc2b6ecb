"""When a channel may be told: business hours in its time zone, minus holidays.

A notification due outside its channel's window waits for the window to open (nothing is lost,
unlike Alertmanager's mute intervals, which drop it); critical alerts may go out any time.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, available_timezones

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from shared.kit.errors import InvalidField
from shared.kit.input import InputModel

# How far ahead to look for an open day: past a year of listed holidays.
SEARCH_DAYS = 400
WALL_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")


def _wall_clock(value: object) -> object:
    """A time of day on the channel's clock: ``HH:MM`` or ``HH:MM:SS``, never an offset.

    An offset would say which zone the time is in, but the channel's ``timezone`` already says
    it, and the two could disagree (and a fixed offset is wrong half the year under DST)."""
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError("a wall-clock time in the channel's timezone takes no offset")
        return value
    if not isinstance(value, str) or not WALL_CLOCK.match(value):
        raise ValueError(
            "a wall-clock time HH:MM or HH:MM:SS in the channel's timezone, "
            "without an offset or fraction"
        )
    return value


# Declared as what it is: "format: time" in JSON Schema (RFC 3339) requires an offset.
LocalTime = Annotated[
    time,
    BeforeValidator(_wall_clock),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": WALL_CLOCK.pattern,
            "description": "local wall-clock time in the channel's timezone, no offset",
            "examples": ["09:00", "18:30:00"],
        }
    ),
]


class BusinessHours(InputModel):
    """Open on these ISO weekdays (1 = Monday) from ``start`` to ``end`` local time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "Asia/Shanghai"
    weekdays: Annotated[list[Annotated[int, Field(ge=1, le=7)]], Field(min_length=1)] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5]
    )
    start: LocalTime = time(9)
    end: LocalTime = time(18)
    holidays: Annotated[list[date], Field(max_length=366)] = Field(default_factory=list)
    critical_anytime: bool = True

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        if zone not in available_timezones():
            raise ValueError(f"unknown time zone {zone!r}")
        return zone

    @model_validator(mode="after")
    def _ordered(self) -> BusinessHours:
        if self.end <= self.start:
            raise InvalidField("end", "end must be after start")
        return self


def bypasses(hours: BusinessHours, severity: str) -> bool:
    """Critical alerts go out any time unless the channel says otherwise."""
    return severity == "critical" and hours.critical_anytime


def next_open(hours: BusinessHours | None, at: datetime, severity: str) -> datetime:
    """The first moment at or after ``at`` when the channel may be told."""
    if hours is None or bypasses(hours, severity):
        return at
    zone = ZoneInfo(hours.timezone)
    local = at.astimezone(zone)
    holidays = set(hours.holidays)
    for offset in range(SEARCH_DAYS):
        day = local.date() + timedelta(days=offset)
        if day.isoweekday() not in hours.weekdays or day in holidays:
            continue
        opens = datetime.combine(day, hours.start, zone)
        closes = datetime.combine(day, hours.end, zone)
        if local < closes:
            return max(local, opens).astimezone(UTC)
    return at  # every day is a holiday: better told late than never
