"""Notification texts in English and Simplified Chinese: one small catalogue per language.

A catalogue is a plain dict (no gettext step): the texts are few, and a test checks that both
languages define the same keys with the same placeholders. Unknown languages fall back to
English; a missing key is a programming error and raises.
"""

from __future__ import annotations

from typing import Final

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

CHINESE: Final = {
    "severity.critical": "严重",
    "severity.warning": "警告",
    "severity.info": "提示",
    "alert.firing": "【{severity}】告警触发：{summary}",
    "alert.repeat": "【{severity}】告警仍未处理：{summary}",
    "alert.escalation": "【{severity}】告警已升级（无人确认）：{summary}",
    "alert.resolved": "已恢复：{summary}",
    "alert.batch": "{count} 条告警（{status}）",
    "alert.summary": "摘要",
    "alert.severity": "级别",
    "alert.plan": "计划",
    "alert.value": "当前值",
    "alert.state": "状态",
    "alert.open": "查看告警",
    "alert.status.firing": "触发中",
    "alert.status.resolved": "已恢复",
    "approval.inbox": "待您审批：{title}",
    "approval.sla_near": "审批即将超时：{title}",
    "approval.escalated": "审批已超时并升级给您：{title}",
    "approval.request": "申请",
    "approval.stage": "审批环节",
    "approval.due_at": "截止时间",
    "approval.requester": "申请人",
    "approval.amount": "金额",
    "approval.open": "查看申请",
}

CATALOGUES: Final = {"en": ENGLISH, "zh-CN": CHINESE}
LANGUAGES: Final = tuple(CATALOGUES)


def text(language: str, key: str, **values: object) -> str:
    """The text ``key`` in ``language`` (English when the language is not catalogued)."""
    catalogue = CATALOGUES.get(language, ENGLISH)
    return catalogue[key].format(**values)
