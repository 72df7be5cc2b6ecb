"""Languages of the report: Babel message catalogues and Babel's locale formatting.

The catalogues are the ``.po`` files beside this module, compiled by the kit's catalogue
mechanism (shared/kit/i18n.py) when first used; metric names come from the dictionary's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import NullTranslations

from services.metrics.dictionary.names import metric_name
from shared.kit import i18n
from shared.kit.i18n import LOCALES, choose

__all__ = ["LOCALES", "Words", "choose", "translations"]

DOMAIN = "report"
_CATALOGUES = Path(__file__).parent / "locale"


def translations(locale: str) -> NullTranslations:
    """The compiled catalogue of a locale (English is the source language: no catalogue)."""
    return i18n.translations(_CATALOGUES, DOMAIN, locale)


@dataclass(frozen=True)
class Words:
    """Messages and numbers in one locale."""

    locale: str
    currency: str

    @property
    def tag(self) -> str:
        """The BCP 47 tag for the page's ``lang`` attribute."""
        return self.locale.replace("_", "-")

    def __call__(self, message: str, **values: object) -> str:
        """A message in the locale, ``{name}`` placeholders filled."""
        text = translations(self.locale).gettext(message)
        return text.format(**values) if values else text

    def money(self, amount: Decimal | None, currency: str | None = None) -> str:
        """``¥1,000,000.00`` (zh-CN) or ``CN¥1,000,000.00`` (en)."""
        if amount is None:
            return self("no data")
        return format_currency(amount, currency or self.currency, locale=self.locale)

    def number(self, value: Decimal | None, digits: int = 2) -> str:
        """A plain number with the locale's grouping, at most ``digits`` decimals."""
        if value is None:
            return self("no data")
        pattern = "#,##0" + ("." + "#" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def percent(self, ratio: Decimal | None, digits: int = 0) -> str:
        """A ratio as a percentage (``0.9`` → ``90%``)."""
        if ratio is None:
            return self("no data")
        pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
        return format_percent(ratio, format=pattern, locale=self.locale)

    def day(self, value: date | None) -> str:
        """``2024年6月30日`` (zh-CN) or ``June 30, 2024`` (en)."""
        return self("no data") if value is None else format_date(value, "long", locale=self.locale)

    def metric(self, english_name: str) -> str:
        """A metric's name from the dictionary, in the locale (the dictionary's catalogue)."""
        return metric_name(english_name, self.locale)
