"""Languages of the report: Babel message catalogues and Babel's locale formatting.

The catalogues are the ``.po`` files beside this module; they are compiled with Babel's own
compiler when first used, so no build step can be forgotten and no ``.mo`` is committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import NullTranslations, Translations

LOCALES = ("zh_CN", "en")
DOMAIN = "report"
_CATALOGUES = Path(__file__).parent / "locale"


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalogue of a locale (English is the source language: no catalogue)."""
    po = _CATALOGUES / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        catalogue = read_po(source, locale=locale, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def _known(tag: str) -> str | None:
    """The supported locale a language tag means (``zh``, ``zh-CN``, ``zh_Hans_CN`` → zh_CN)."""
    try:
        wanted = Locale.parse(tag.strip().replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None
    for supported in LOCALES:
        if Locale.parse(supported).language == wanted.language:
            return supported
    return None


def choose(lang: str | None, accept_language: str | None, default: str) -> str:
    """``lang=`` wins, then the reader's Accept-Language by quality, then the company's."""
    if lang and (found := _known(lang)):
        return found
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag.strip() and tag.strip() != "*" and quality > 0:
            ranked.append((-quality, n, tag))
    for _q, _n, tag in sorted(ranked):
        if found := _known(tag):
            return found
    return _known(default) or LOCALES[0]


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
        """A metric's name from the dictionary, in the locale (the catalogue holds each name)."""
        return self(english_name)
