"""Engines, sessions and per-service metadata. Only the request dependency, the consumer loop
and the relay commit; repositories and services flush."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    """Metadata whose tables all live in the service's own schema."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def async_url(url: str) -> str:
    """The same DSN with the asyncpg driver, whatever driver (if any) it named."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    application_name: str = "",
    statement_timeout_ms: int = 0,
) -> AsyncEngine:
    """An asyncpg engine; application_name shows which service holds a connection, and a
    statement timeout (0 = none) turns a statement stuck behind a lock into a quick 503."""
    server_settings = {}
    if application_name:
        server_settings["application_name"] = application_name
    if statement_timeout_ms:
        server_settings["statement_timeout"] = str(statement_timeout_ms)
    connect_args = {"server_settings": server_settings} if server_settings else {}
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit, so responses can be built from them."""
    return async_sessionmaker(engine, expire_on_commit=False)
