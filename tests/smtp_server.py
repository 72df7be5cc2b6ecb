"""A real SMTP server (aiosmtpd) on a free loopback port, for the email notification tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class Mailbox:
    """What the SMTP server received; ``refuse`` makes it answer 451 (try again later)."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.refuse = False
        self.port = 0

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return "451 Requested action aborted: try again later"
        self.envelopes.append(envelope)
        return "250 OK"

    def mails(self) -> list[EmailMessage]:
        """The received mails, parsed."""
        return [
            message_from_bytes(e.original_content or b"", policy=policy.default)
            for e in self.envelopes
        ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    mailbox = Mailbox()
    mailbox.port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()
