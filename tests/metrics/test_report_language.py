"""The report's languages without a database: every message and metric name has its Chinese,
the reader's language is chosen as HTTP says, and money and dates read as CLDR writes them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from services.metrics import report
from services.metrics.reporting import i18n
from services.metrics.reporting.i18n import Words, choose
from shared.contract.metric_dictionary import METRIC_DICTIONARY
from shared.contract.types import ObjectiveType

CODE = Path(i18n.__file__).parent
KEYWORDS = {"words": None, "_para": (2,)}


def messages() -> set[str]:
    """Every literal message the report's code asks a catalogue for."""
    found = set()
    for path in [*CODE.glob("*.py"), CODE.parent / "report.py"]:
        for _line, message, _comments, _context in extract_from_file(
            "python", str(path), keywords=KEYWORDS
        ):
            if isinstance(message, str) and message:
                found.add(message)
    return found


def test_every_message_and_metric_name_has_its_chinese() -> None:
    chinese = i18n.translations("zh_CN")
    # the page's notes are constants handed to words(), not literals the extractor sees
    notes = {v for k, v in vars(report).items() if k.endswith(("_NOTE", "_LEGEND"))}
    assert len(notes) >= 4
    wanted = messages() | notes | {t.value.replace("_", " ") for t in ObjectiveType}
    assert len(wanted) > 70
    untranslated = sorted(m for m in wanted if chinese.gettext(m) == m)
    assert untranslated == []
    # Metric names come from the dictionary's catalogue, which GET /metrics/dictionary reads too.
    names = Words("zh_CN", "CNY")
    assert [names.metric(d.name) for d in METRIC_DICTIONARY.values()].count("") == 0
    assert (
        sorted(d.name for d in METRIC_DICTIONARY.values() if names.metric(d.name) == d.name) == []
    )


@pytest.mark.parametrize(
    ("lang", "accept", "company", "chosen"),
    [
        ("en", "zh-CN", "zh-CN", "en"),  # lang= wins
        (None, "en-GB,en;q=0.9", "zh-CN", "en"),
        (None, "fr-FR, zh;q=0.8, en;q=0.5", "en", "zh_CN"),  # by quality, first known
        (None, "fr", "zh-CN", "zh_CN"),  # nothing known: the company's
        (None, None, "en", "en"),
        ("xx", None, "zh-CN", "zh_CN"),  # an unknown lang= falls back
        (None, "en;q=0, zh", "en", "zh_CN"),  # q=0 means not wanted
    ],
)
def test_the_language_is_chosen_as_http_says(
    lang: str | None, accept: str | None, company: str, chosen: str
) -> None:
    assert choose(lang, accept, company) == chosen


def test_money_and_dates_read_as_each_locale_writes_them() -> None:
    chinese, english = Words("zh_CN", "CNY"), Words("en", "CNY")
    assert chinese.money(Decimal(1000000)) == "¥1,000,000.00"
    assert english.money(Decimal(1000000)) == "CN¥1,000,000.00"
    assert chinese.day(date(2024, 6, 30)) == "2024年6月30日"
    assert english.day(date(2024, 6, 30)) == "June 30, 2024"
    assert chinese.percent(Decimal("1.3")) == "130%"
    assert chinese.money(None) == "无数据"
    assert chinese.metric("New registered users") == "新注册用户"
