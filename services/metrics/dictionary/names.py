"""Metric names in the reader's language, from the dictionary's message catalogue.

The catalogue (``locale/<locale>/LC_MESSAGES/dictionary.po``) is keyed by the English name, so
a derived metric an operator named in any language is shown as it was typed.
"""

from __future__ import annotations

from pathlib import Path

from shared.kit.i18n import catalogue

DOMAIN = "dictionary"
_CATALOGUES = Path(__file__).parent / "locale"


def metric_name(english_name: str, locale: str) -> str:
    """A metric's display name in ``locale`` (unchanged when the catalogue lacks it)."""
    return catalogue(_CATALOGUES, DOMAIN, locale).translations.gettext(english_name)
