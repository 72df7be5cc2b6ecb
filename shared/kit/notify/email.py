"""Email over SMTP with aiosmtplib; the server is the deployment's (``SMTP_*`` settings)."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from shared.kit.notify.message import Message, Outcome, Target
from shared.kit.settings import Settings


def compose(message: Message, target: Target, sender: str) -> EmailMessage:
    """A plain-text mail; the Message-ID is the message's, so a mail client shows one thread."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = ", ".join(target.recipients)
    mail["Subject"] = message.title
    domain = sender.rpartition("@")[2] or "localhost"
    mail["Message-ID"] = f"<{message.message_id}@{domain}>"
    mail.set_content(message.plain_text())
    return mail


async def send(message: Message, target: Target, settings: Settings) -> Outcome:
    """Hand the mail to the SMTP server; any SMTP error is a failed attempt."""
    if not settings.smtp_host:
        return Outcome(False, "SMTP_HOST is not set")
    try:
        answer = await aiosmtplib.send(
            compose(message, target, settings.smtp_sender),
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_user,
            password=settings.smtp_password,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            timeout=settings.smtp_timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}")
    refused, reply = answer
    if refused:
        return Outcome(False, f"refused: {', '.join(sorted(refused))}")
    return Outcome(True, f"SMTP {reply}")
