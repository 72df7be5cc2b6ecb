"""Notifications where people are: one place that formats and signs for every platform.

Alerts (channels) and approvals (each approver's preference) hand a :class:`Message` and a
:class:`Target` to :func:`send`; each platform's own format and signature live in one module
(``webhook``, ``wecom``, ``dingtalk``, ``feishu``, ``email``). The texts are in ``texts``.
"""

from shared.kit.notify.message import KINDS, Message, Outcome, Target
from shared.kit.notify.send import send

__all__ = ["KINDS", "Message", "Outcome", "Target", "send"]
