"""What is sent (a message), where (a target), and how it went (an outcome)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["webhook", "wecom", "dingtalk", "feishu", "email"]
KINDS: tuple[Kind, ...] = ("webhook", "wecom", "dingtalk", "feishu", "email")


@dataclass(frozen=True)
class Message:
    """One notification, already in its reader's language.

    ``data`` is the structured body a generic webhook receives; the people-facing platforms
    get ``title``, the ``fields`` (label, value) and the ``link``.
    """

    message_id: str
    title: str
    fields: list[tuple[str, str]]
    link: str | None = None
    link_text: str = ""
    resolved: bool = False
    data: dict[str, Any] = field(default_factory=dict)

    def markdown(self) -> str:
        """The message in the markdown subset WeCom, DingTalk and Feishu all render."""
        lines = [f"### {self.title}", ""]
        lines += [f"**{label}**: {value}  " for label, value in self.fields]
        if self.link:
            lines += ["", f"[{self.link_text or self.link}]({self.link})"]
        return "\n".join(lines)

    def plain_text(self) -> str:
        """The message for an email body."""
        lines = [self.title, ""]
        lines += [f"{label}: {value}" for label, value in self.fields]
        if self.link:
            lines += ["", f"{self.link_text}: {self.link}" if self.link_text else self.link]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Target:
    """Where a message goes: a robot or webhook URL with its secrets, or email recipients.

    ``secrets`` are newest first; a generic webhook is signed with each (rotation), a robot
    with the first.
    """

    kind: Kind
    address: str = ""
    secrets: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """Whether the platform took the message, and what it said (kept in the delivery log)."""

    delivered: bool
    detail: str
