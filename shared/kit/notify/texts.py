"""Notification texts: keys to their English text, translated by the kit's Babel catalogues
(``shared/kit/locale/<locale>/LC_MESSAGES/notify.po``, msgids the English text).

Callers name a text by key, so a reworded English text changes one line here and its msgid;
a test checks every language has every text with the same placeholders. Unknown languages fall
back to English; a missing key is a programming error and raises.
"""

from __future__ import annotations

from typing import Final

from shared.kit.i18n import KIT_CATALOGUES, LOCALES, catalogue, known, language_tag

DOMAIN = "notify"

ENGLISH: Final = {
    "severity.critical": "critical",
    "severity.warning": "warning",
    "severity.info": "info",
    "alert.firing": "[{severity}] Alert firing: {summary}",
    "alert.repeat": "[{severity}] Still firing: {summary}",
    "alert.escalation": "[{severity}] Escalated, nobody has acknowledged: {summary}",
    "alert.resolved": "Resolved: {summary}",
    "alert.batch": "{count} alerts ({status})",
    "alert.summary": "Summary",
    "alert.severity": "Severity",
    "alert.plan": "Plan",
    "alert.value": "Value",
    "alert.state": "State",
    "alert.open": "Open the alert",
    "alert.status.firing": "firing",
    "alert.status.resolved": "resolved",
    "approval.inbox": "Waiting for your approval: {title}",
    "approval.sla_near": "Approval due soon: {title}",
    "approval.escalated": "Overdue approval escalated to you: {title}",
    "approval.request": "Request",
    "approval.stage": "Stage",
    "approval.due_at": "Due",
    "approval.requester": "Requested by",
    "approval.amount": "Amount",
    "approval.open": "Open the request",
}


def _in(locale: str) -> dict[str, str]:
    translations = catalogue(KIT_CATALOGUES, DOMAIN, locale).translations
    return {key: translations.gettext(english) for key, english in ENGLISH.items()}


# Every text in every language, by key (the tag a channel or person stores: "zh-CN", "en").
CATALOGUES: Final = {language_tag(locale): _in(locale) for locale in LOCALES}
LANGUAGES: Final = tuple(CATALOGUES)


def text(language: str, key: str, **values: object) -> str:
    """The text ``key`` in ``language`` (English when the language is not catalogued)."""
    locale = known(language) or "en"
    return CATALOGUES[language_tag(locale)][key].format(**values)
