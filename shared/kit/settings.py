"""Settings read from the environment; a service may override the database per service."""

from __future__ import annotations

import base64
from datetime import time
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from limits import parse
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


# Development only: production (Kafka) mode refuses to start with it.
DEV_JWT_SECRET = "dev-only-secret-change-me-0123456789abcdef"  # noqa: S105
# Development only, like DEV_JWT_SECRET: seals stored secrets in the embedded mode.
DEV_SECRET_KEY = "h6t0QEHVX-c9ydSMK3zB8dWC1nfyR3Up9YV8ttt8PC4="  # noqa: S105


class BusKind(StrEnum):
    """Which transport the relays publish to and the consumers read from."""

    EMBEDDED = "embedded"
    KAFKA = "kafka"


class Settings(BaseSettings):
    """Process-wide settings (no prefix: DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS …)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    database_url: str | None = Field(
        default=None, description="PostgreSQL DSN; unset means the embedded server."
    )
    embedded_data_dir: Path = PROJECT_ROOT / ".data" / "pg"
    bus: BusKind | None = Field(
        default=None, description="embedded or kafka; defaults to kafka when a broker is set."
    )
    kafka_bootstrap_servers: str | None = None
    kafka_client_id: str = "campaign-placement"
    kafka_enable_idempotence: bool = Field(
        default=True,
        description="idempotent producer (no duplicates from producer retries); turn off only "
        "for brokers without InitProducerId, such as the Tansu test broker",
    )
    kafka_session_timeout_ms: int = Field(
        default=10_000,
        ge=1,
        description="a consumer that sends no heartbeat for this long leaves its group",
    )
    kafka_heartbeat_interval_ms: int = Field(default=3_000, ge=1)
    kafka_readiness_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="/readyz turns false when the broker has not answered for this long",
    )
    topic_prefix: str = Field(
        default="",
        description="prefix of every topic and consumer group: environments sharing a broker "
        "never read or rebalance each other's",
    )
    kafka_create_topics: bool = Field(
        default=True, description="create missing topics at start-up (brokers auto-create off)"
    )
    kafka_topic_partitions: int = Field(default=6, ge=1)
    kafka_replication_factor: int = Field(default=3, ge=1)
    kafka_retention_ms: int = Field(default=7 * 24 * 3600 * 1000, ge=-1)
    jwt_secret: str = Field(default=DEV_JWT_SECRET, min_length=32)
    jwt_issuer: str = "campaign-placement"
    jwt_audience: str = "campaign-placement-api"
    jwt_algorithms: list[str] = ["HS256"]
    company_timezone: str = "Asia/Shanghai"
    relay_batch_size: int = Field(default=500, ge=1)
    relay_idle_poll_seconds: float = Field(default=1.0, gt=0)
    consumer_max_attempts: int = Field(default=5, ge=1)
    migrate_on_start: bool = True
    rate_limit_writes: str = Field(
        default="50/second", description="writes per client (bearer token) in a moving window"
    )
    rate_limit_webhooks: str = Field(
        default="200/second", description="webhook deliveries per source in a moving window"
    )
    rate_limit_storage: str = Field(
        default="async+memory://", description="where windows are kept; async+redis://… shares them"
    )
    db_pool_size: int = Field(
        default=10,
        ge=1,
        description="connections per service kept for requests, consumers, relay and jobs (as "
        "many again may overflow under load); plus one for the relay's lock, and on the "
        "embedded bus one per process for every consumer group's membership",
    )
    db_statement_timeout_ms: int = Field(
        default=30_000, ge=0, description="cancel a statement after this long (0 = never)"
    )
    jobs_enabled: bool = Field(
        default=True, description="run periodic jobs (reminders, cut-offs); tests drive them"
    )
    data_cutoff: time = Field(
        default=time(17, 0),
        description="company time by which each mapped source's data for yesterday is due",
    )
    alert_repeat_after_hours: float = Field(
        default=4, gt=0, description="re-notify an unacknowledged alert after this, then 2x, 4x…"
    )
    alert_escalate_after_minutes: int = Field(
        default=30, ge=1, description="escalate an unacknowledged critical alert after this"
    )
    log_level: str = "INFO"
    cors_allow_origins: list[str] = Field(
        default=[],
        description="browser origins of internal frontends allowed to call the API "
        '(JSON list, e.g. ["https://marketing.example.cn"]); empty = no cross-origin access',
    )

    @field_validator("rate_limit_writes", "rate_limit_webhooks")
    @classmethod
    def _rate(cls, value: str) -> str:
        parse(value)  # "100/second", "1000 per minute" … ; anything else fails at start-up
        return value

    @property
    def bus_kind(self) -> BusKind:
        """The transport in force: explicit setting, else Kafka when a broker is configured."""
        if self.bus is not None:
            return self.bus
        return BusKind.KAFKA if self.kafka_bootstrap_servers else BusKind.EMBEDDED

    def topic(self, name: str) -> str:
        """A logical topic name with the deployment's prefix."""
        return f"{self.topic_prefix}{name}"

    def consumer_group(self, name: str) -> str:
        """A consumer group id with the deployment's prefix."""
        return f"{self.topic_prefix}{name}"

    # Secrets at rest (shared/kit/secrets.py): sources' signing secrets, channels' secrets.
    secret_keys: list[str] = Field(
        default=[DEV_SECRET_KEY],
        min_length=1,
        description="Fernet keys, newest first, as a JSON list: the newest seals stored "
        "secrets, every one opens them (put a new key in front to rotate)",
    )

    # Notifications (shared/kit/notify): the company's language, links back, the mail server.
    company_language: Literal["zh-CN", "en"] = Field(
        default="zh-CN",
        description="language of notifications and reports when a channel, person or reader "
        "names none",
    )
    public_base_url: str = Field(
        default="http://localhost:8000",
        description="where people open the API (links in notifications point here)",
    )
    smtp_host: str | None = Field(default=None, description="mail server; unset = no email")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="STARTTLS on a plain port, TLS from the start, or none"
    )
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_sender: str = "campaign-placement@localhost"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("secret_keys")
    @classmethod
    def _fernet_keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            try:
                decoded = base64.urlsafe_b64decode(key.encode())
            except ValueError as exc:
                raise ValueError("a secret key is not url-safe base64") from exc
            if len(decoded) != 32:
                raise ValueError("a secret key must be 32 url-safe base64-encoded bytes")
        return keys


class ServiceSettings(BaseSettings):
    """Per-service overrides, read with the service's prefix (e.g. PLANNING_DATABASE_URL)."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str | None = None


class UnsafeProductionSettings(RuntimeError):
    """Production (Kafka) mode was asked for with a development-only value."""


def refuse_unsafe_production(settings: Settings) -> None:
    """In production mode, refuse development keys: anyone could mint tokens or open secrets."""
    if settings.bus_kind is BusKind.KAFKA and settings.jwt_secret == DEV_JWT_SECRET:
        raise UnsafeProductionSettings(
            "JWT_SECRET is the development default; set a secret of 32+ random characters "
            "before running with Kafka (production mode)"
        )
    if settings.bus_kind is BusKind.KAFKA and DEV_SECRET_KEY in settings.secret_keys:
        raise UnsafeProductionSettings(
            "SECRET_KEYS holds the development key; generate one (python -c 'from "
            "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') "
            "before running with Kafka (production mode)"
        )


@lru_cache
def get_settings() -> Settings:
    """The process settings, read once."""
    return Settings()


def service_database_url(service: str, settings: Settings) -> str | None:
    """The DSN for one service: its own override, else the process-wide one."""
    override = ServiceSettings(_env_prefix=f"{service.upper()}_").database_url
    return override or settings.database_url
