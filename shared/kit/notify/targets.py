"""Which fields make a valid target of each kind (checked where channels and people set them)."""

from __future__ import annotations

from shared.kit.notify.message import Kind
from shared.kit.notify.webhook import is_standard_secret


def target_problem(
    kind: Kind, *, url: str | None, secrets: list[str], recipients: list[str]
) -> tuple[str, str] | None:
    """Which field is wrong and why, when these fields do not make a target of ``kind``
    (``url``, ``secret`` or ``recipients``); None when they do.

    Webhooks sign with ``whsec_`` secrets (several while rotating); WeCom robots have none (the
    key is in the URL); DingTalk and Feishu robots have one when their signature check is on;
    email has recipients and nothing else.
    """
    if kind == "email":
        if not recipients:
            return "recipients", "email names its recipients"
        if url is not None or secrets:
            return (
                "url" if url is not None else "secret"
            ), "email has recipients, not a url or secret"
        return None
    if url is None:
        return "url", f"{kind} needs its url"
    if recipients:
        return "recipients", "only email has recipients"
    if kind == "webhook":
        if not secrets:
            return "secret", "a webhook needs a secret (whsec_…) to sign with"
        if not all(is_standard_secret(s) for s in secrets):
            return "secret", "webhook secrets are whsec_ followed by base64 of 24 to 64 bytes"
    elif len(secrets) > 1:
        return "secret", "only a webhook signs with several secrets"
    if kind == "wecom" and secrets:
        return "secret", "a WeCom robot has no secret: its key is part of the url"
    return None


def stored_secrets(opened: str) -> tuple[str, ...]:
    """The active secrets kept in one sealed value, newest first (see :func:`storable`).

    A value stored before channels signed as Standard Webhooks is one secret that may hold
    spaces, so only ``whsec_`` values are split.
    """
    if opened.startswith("whsec_"):
        return tuple(opened.split())
    return (opened,) if opened else ()


def storable(secrets: list[str]) -> str:
    """Several secrets as one value to seal (none of them holds a space)."""
    return " ".join(secrets)
