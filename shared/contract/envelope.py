"""The event envelope and the registry that maps (type, version) to a typed payload."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class EventPayload(BaseModel):
    """Base of every event payload. Subclasses name their type and version."""

    # Payloads grow additively within a version, so a reader ignores fields it does not know.
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    event_version: ClassVar[int]

    @classmethod
    def topic_name(cls) -> str:
        """Topic (before prefixing): service and aggregate, e.g. ``planning.plan``."""
        service, aggregate, _ = cls.event_type.split(".", 2)
        return f"{service}.{aggregate}"


class Envelope(BaseModel):
    """CloudEvents-like envelope; ``subject`` is the aggregate id and the Kafka key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int = Field(ge=1)
    source: str
    subject: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str | None = None
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        payload: EventPayload,
        *,
        source: str,
        subject: str,
        correlation_id: str | None = None,
        time: datetime | None = None,
    ) -> Envelope:
        """Wrap a typed payload for publishing."""
        return cls(
            type=payload.event_type,
            version=payload.event_version,
            source=source,
            subject=subject,
            correlation_id=correlation_id,
            time=time or datetime.now(UTC),
            data=payload.model_dump(mode="json"),
        )


class UnknownEvent(LookupError):
    """No payload model is registered for this type and version."""


class InvalidEvent(ValueError):
    """The envelope or its payload does not validate."""


class EventRegistry:
    """Maps ``(type, version)`` to the pydantic payload model that reads it."""

    def __init__(self, payloads: Iterable[type[EventPayload]] = ()) -> None:
        self._by_key: dict[tuple[str, int], type[EventPayload]] = {}
        for payload in payloads:
            self.register(payload)

    def register(self, payload: type[EventPayload]) -> None:
        """Add a payload model; registering two models for one key is a programming error."""
        key = (payload.event_type, payload.event_version)
        existing = self._by_key.get(key)
        if existing is not None and existing is not payload:
            raise ValueError(f"{key} is already registered to {existing.__name__}")
        self._by_key[key] = payload

    def model_for(self, event_type: str, version: int) -> type[EventPayload]:
        """The payload model for a type and version, or UnknownEvent."""
        try:
            return self._by_key[(event_type, version)]
        except KeyError:
            raise UnknownEvent(f"no payload registered for {event_type} v{version}") from None

    def __iter__(self) -> Any:
        return iter(self._by_key.values())

    def decode(self, raw: bytes | str) -> tuple[Envelope, EventPayload]:
        """Parse a serialized envelope and its typed payload, or raise Unknown/InvalidEvent."""
        try:
            envelope = Envelope.model_validate_json(raw)
        except ValidationError as exc:
            raise InvalidEvent(f"invalid envelope: {exc}") from exc
        model = self.model_for(envelope.type, envelope.version)
        try:
            payload = model.model_validate(envelope.data)
        except ValidationError as exc:
            raise InvalidEvent(f"invalid {envelope.type} v{envelope.version}: {exc}") from exc
        return envelope, payload
