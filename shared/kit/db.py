"""Engines, sessions and per-service metadata. Only the request dependency, the consumer loop
and the relay commit; repositories and services flush."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
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
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "checkout", _check_on_checkout)
    event.listen(engine.sync_engine, "checkin", _note_checkin)
    return engine


# A connection back in the pool for longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 10.0
_RETURNED_AT = "returned_at"


def _check_on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Never hand out a dead connection, without a round trip per request.

    SQLAlchemy's ``pool_pre_ping`` costs three round trips on asyncpg (BEGIN, ``;``, ROLLBACK)
    on every checkout, i.e. every request. When PostgreSQL restarts or terminates a backend it
    closes the socket, which asyncpg sees without a round trip (``is_closed``); a connection
    idle for a while, which a firewall may have dropped silently, still gets the full ping.
    Raising DisconnectionError makes the pool discard the connection and take a fresh one."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")
    returned = record.info.get(_RETURNED_AT)  # None: connected just now
    if returned is not None and time.monotonic() - returned > IDLE_PING_SECONDS:
        try:
            dbapi_connection.ping()
        except Exception as exc:  # any failure means the connection cannot be used
            raise DisconnectionError("the connection did not answer a ping") from exc


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info[_RETURNED_AT] = time.monotonic()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit, so responses can be built from them."""
    return async_sessionmaker(engine, expire_on_commit=False)
