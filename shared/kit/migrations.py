"""One Alembic history per service, its version table in the service's own schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.kit.locks import advisory_key


def alembic_config(schema: str, migrations_dir: Path) -> Config:
    """An in-memory Alembic config for one service (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(slug)s")
    config.attributes["schema"] = schema
    return config


async def upgrade(
    engine: AsyncEngine, schema: str, migrations_dir: Path, target: str = "head"
) -> None:
    """Apply pending migrations (up to ``target``); replicas starting together wait on one lock."""
    config = alembic_config(schema, migrations_dir)
    async with engine.begin() as conn:
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key(f"migrate:{schema}")}
        )
        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        await conn.run_sync(_run, config, command.upgrade, target)


async def revision(engine: AsyncEngine, schema: str, migrations_dir: Path, message: str) -> None:
    """Autogenerate a new revision from the difference between models and database."""
    config = alembic_config(schema, migrations_dir)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        await conn.run_sync(_run, config, command.revision, message=message, autogenerate=True)


def _run(connection: Connection, config: Config, action: Any, *args: Any, **kwargs: Any) -> None:
    config.attributes["connection"] = connection
    action(config, *args, **kwargs)


def run_env(metadata: MetaData) -> None:
    """The body of every service's migrations/env.py: online mode on the shared connection."""
    config = context.config
    schema: str = config.attributes["schema"]
    connection: Connection = config.attributes["connection"]

    def include_name(name: str | None, type_: str, __parent_names: Any) -> bool:
        # Only this service's schema is compared; other schemas belong to other services.
        return name == schema if type_ == "schema" else True

    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table_schema=schema,
        include_schemas=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        # A migration waiting behind a long lock would stall every request queued behind it.
        connection.execute(text("SET LOCAL lock_timeout = '5s'"))
        connection.execute(text("SET LOCAL statement_timeout = 0"))  # backfills may take long
        context.run_migrations()
