"""The kit's message catalogues: every problem title has its Chinese, a translation uses only
its msgid's placeholders, English text built from a template is recognised, notifications render in
Chinese, and metric names exist in both languages."""

from __future__ import annotations

import string
from pathlib import Path

from babel.messages.pofile import read_po

from services.metrics.dictionary.names import metric_name
from shared.contract.metric_dictionary import METRIC_DICTIONARY
from shared.kit import errors
from shared.kit.i18n import KIT_CATALOGUES, catalogue, choose, kit_text
from shared.kit.notify import Message
from shared.kit.notify.texts import text

CATALOGUE_FILES = [
    *KIT_CATALOGUES.glob("*/LC_MESSAGES/*.po"),
    *Path("services/metrics/dictionary/locale").glob("*/LC_MESSAGES/*.po"),
]


def _subclasses(cls: type[errors.DomainError]) -> set[type[errors.DomainError]]:
    found: set[type[errors.DomainError]] = set(cls.__subclasses__())
    return found | {s for c in list(found) for s in _subclasses(c)}


def test_every_problem_title_has_its_chinese() -> None:
    import allinone.app  # noqa: F401  # every service's own error classes, imported

    classes = _subclasses(errors.DomainError) | {errors.DomainError}
    titles = {cls.title for cls in classes} | {
        # titles the kit writes itself, and Starlette's for routing errors
        "Invalid request",
        "Internal error",
        "Value cannot be stored",
        "Storage unavailable, retry later",
        "Not ready",
        "Too many requests",
        "Payload too large",
        "Not Found",
        "Method Not Allowed",
    }
    assert len(titles) > 15
    untranslated = sorted(t for t in titles if kit_text("problems", t, "zh_CN") == t)
    assert untranslated == []


def test_a_translation_uses_only_the_placeholders_of_its_msgid() -> None:
    def names(template: str) -> set[str]:
        return {n for _, n, _, _ in string.Formatter().parse(template) if n}

    assert len(CATALOGUE_FILES) >= 3
    for path in CATALOGUE_FILES:
        with path.open("rb") as source:
            messages = [m for m in read_po(source) if m.id]
        assert messages, path
        for message in messages:
            assert message.string, (path, message.id)
            # A translation may leave a value out (Chinese has no plural 's'), never invent one.
            assert names(str(message.string)) <= names(str(message.id)), (path, message.id)


def test_english_built_from_a_template_is_translated_with_its_values() -> None:
    problems = catalogue(KIT_CATALOGUES, "problems", "zh_CN")
    assert problems.translate("no budget line 17 in plan 4") == "计划 4 中没有预算行 17"
    assert problems.translate("the body declares 9000 bytes; this route takes at most 4096") == (
        "请求体声明为 9000 字节；此接口最多接受 4096 字节"
    )
    # The validator's own reason inside pydantic's wrapper is translated too.
    assert problems.translate("Value error, the plan must end on or after its start date") == (
        "取值错误：计划的结束日期不得早于开始日期"
    )
    # Text no template produced stays English rather than being half-translated.
    assert problems.translate("something nobody catalogued") == "something nobody catalogued"


def test_accept_language_is_read_by_quality() -> None:
    assert choose(None, "en;q=0.2, zh-TW;q=0.9", "en") == "zh_CN"
    assert choose(None, "de, fr;q=0.9", "zh-CN") == "zh_CN"
    assert choose(None, "zh;q=0, en", "zh-CN") == "en"
    assert choose(None, "*", "en") == "en"


def test_a_notification_renders_in_chinese() -> None:
    severity = text("zh-CN", "severity.critical")
    message = Message(
        message_id="msg_1",
        title=text("zh-CN", "alert.firing", severity=severity, summary="cpa 52 > 40"),
        fields=[
            (text("zh-CN", "alert.summary"), "cpa 52 > 40"),
            (text("zh-CN", "alert.severity"), severity),
        ],
        link="http://localhost:8000/alerts/alerts/7",
        link_text=text("zh-CN", "alert.open"),
    )
    assert message.markdown() == (
        "### 【严重】告警触发：cpa 52 > 40\n\n"
        "**摘要**: cpa 52 > 40  \n"
        "**级别**: 严重  \n\n"
        "[查看告警](http://localhost:8000/alerts/alerts/7)"
    )
    assert text("zh", "approval.sla_near", title="校园音乐节赞助") == "审批即将超时：校园音乐节赞助"
    assert text("en-GB", "approval.sla_near", title="x") == "Approval due soon: x"


def test_every_built_in_metric_is_named_in_both_languages() -> None:
    names = {key: metric_name(m.name, "zh_CN") for key, m in METRIC_DICTIONARY.items()}
    assert names["ctr"] == "点击率"
    assert names["registrations"] == "新注册用户"
    assert all(names[key] != m.name for key, m in METRIC_DICTIONARY.items())
    assert metric_name("Next-day retention", "en") == "Next-day retention"
