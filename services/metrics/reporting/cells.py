"""The typed cells and tables every section of the report is made of: the page shows each
cell's text, the CSV and XLSX exports its value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from services.metrics.reporting.i18n import Words

Kind = Literal["text", "money", "percent", "number", "date"]


@dataclass(frozen=True)
class Cell:
    """What the reader sees, and the value an export writes."""

    text: str
    value: Decimal | date | str | None = None
    kind: Kind = "text"
    note: str = ""


@dataclass
class Table:
    """One section of the report."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


def text(shown: str) -> Cell:
    """Words, exported as they read."""
    return Cell(shown, shown)


def money(words: Words, amount: Decimal | None) -> Cell:
    """An amount in the plan currency, or "no data"."""
    return Cell(words.money(amount), amount, "money" if amount is not None else "text")


def percent(words: Words, share: Decimal | None, digits: int = 0) -> Cell:
    """A ratio as a percentage, or "no data"."""
    return Cell(words.percent(share, digits), share, "percent" if share is not None else "text")


def number(words: Words, value: Decimal | None) -> Cell:
    """A plain number, or "no data"."""
    return Cell(words.number(value), value, "number" if value is not None else "text")
