"""Languages of what people read: Babel message catalogues and the reader's language.

Catalogues are ``.po`` files (``<dir>/<locale>/LC_MESSAGES/<domain>.po``) whose msgids are the
English text; Babel compiles them when first used, so no build step can be forgotten and no
``.mo`` is committed. English is the source language and has no catalogue.

A msgid may hold ``{name}`` placeholders. ``translate`` then also recognises English text built
from that template (``no plan 7f3…`` from ``no plan {plan_id}``) and fills the translation with
the same values: error details are composed in English where they arise, and only their words
are translated here, never the values they carry.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("zh_CN", "en")
SOURCE_LOCALE = "en"
KIT_CATALOGUES = Path(__file__).parent / "locale"

# The locale of the request being answered; the request middleware sets it from
# Accept-Language (see observability.RequestObservability).
current_locale: ContextVar[str] = ContextVar("current_locale", default=SOURCE_LOCALE)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Catalogue:
    """One domain's messages in one locale: Babel's compiled translations and the templates."""

    translations: NullTranslations
    templates: tuple[tuple[re.Pattern[str], str], ...] = ()

    def translate(self, english: str) -> str:
        """``english`` in this locale, or unchanged when the catalogue does not know it."""
        exact = self.translations.gettext(english)
        if exact != english or not self.templates:
            return exact
        for pattern, translated in self.templates:
            if found := pattern.fullmatch(english):
                # A value may itself be a known message (a validator's reason inside pydantic's
                # "Value error, {error}"); values that are ids or numbers stay as they are.
                values = {k: self.translations.gettext(v) for k, v in found.groupdict().items()}
                return translated.format(**values)
        return english


def _template_pattern(msgid: str) -> re.Pattern[str] | None:
    parts = _PLACEHOLDER.split(msgid)
    names = parts[1::2]
    if not names or len(set(names)) != len(names) or not all(n.isidentifier() for n in names):
        return None
    regex = "".join(
        re.escape(part) if n % 2 == 0 else f"(?P<{part}>.*?)" for n, part in enumerate(parts)
    )
    return re.compile(regex, re.DOTALL)


@cache
def catalogue(directory: Path, domain: str, locale: str) -> Catalogue:
    """The compiled catalogue of a domain in a locale (empty for English or a missing file)."""
    po = directory / locale / "LC_MESSAGES" / f"{domain}.po"
    if not po.exists():
        return Catalogue(NullTranslations())
    with po.open("rb") as source:
        messages = read_po(source, locale=locale, domain=domain)
    compiled = BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    templates = [
        (len(_PLACEHOLDER.sub("", message.id)), pattern, message.string)
        for message in messages
        if isinstance(message.id, str)
        and isinstance(message.string, str)
        and message.string
        and (pattern := _template_pattern(message.id))
    ]
    # The most literal text first: "Input should be a valid date, {error}" before
    # "Input should be {expected}".
    templates.sort(key=lambda item: -item[0])
    return Catalogue(Translations(compiled, domain=domain), tuple((p, t) for _n, p, t in templates))


def translations(directory: Path, domain: str, locale: str) -> NullTranslations:
    """Babel's translations of a domain (for callers that want gettext itself)."""
    return catalogue(directory, domain, locale).translations


def known(tag: str | None) -> str | None:
    """The supported locale a language tag means (``zh``, ``zh-CN``, ``zh_Hans_CN`` → zh_CN)."""
    if not tag:
        return None
    try:
        wanted = Locale.parse(tag.strip().replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None
    for supported in LOCALES:
        if Locale.parse(supported).language == wanted.language:
            return supported
    return None


def choose(lang: str | None, accept_language: str | None, default: str) -> str:
    """``lang`` wins, then the reader's Accept-Language by quality (RFC 9110 §12.5.4), then the
    company's language."""
    if found := known(lang):
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
        if found := known(tag):
            return found
    return known(default) or LOCALES[0]


def language_tag(locale: str) -> str:
    """The BCP 47 tag of a locale, as ``Content-Language`` and ``lang`` want it (zh-CN)."""
    return locale.replace("_", "-")


def kit_text(domain: str, english: str, locale: str | None = None) -> str:
    """A message of the kit's own catalogues (problems, notifications) in ``locale``, by default
    the current request's."""
    return catalogue(KIT_CATALOGUES, domain, locale or current_locale.get()).translate(english)
