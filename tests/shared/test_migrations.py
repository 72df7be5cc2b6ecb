"""Every service's models and migrations agree: autogenerate finds nothing to do."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from allinone.app import DEFINITIONS
from shared.kit.db import create_engine
from shared.kit.runtime import ServiceDefinition


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.name)
async def test_models_and_migrations_agree(
    database_url: str, definition: ServiceDefinition
) -> None:
    schema = definition.name

    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "include_name": lambda name, type_, _parents: (
                    name == schema if type_ == "schema" else True
                ),
                "version_table_schema": schema,
            },
        )
        return list(compare_metadata(context, definition.metadata))

    engine = create_engine(database_url)
    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    await engine.dispose()
    assert differences == []


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.name)
async def test_each_service_tracks_its_migrations_in_its_own_schema(
    database_url: str, definition: ServiceDefinition
) -> None:
    from sqlalchemy import text

    engine = create_engine(database_url)
    async with engine.connect() as conn:
        version = await conn.scalar(
            text(f'SELECT version_num FROM "{definition.name}".alembic_version')
        )
    await engine.dispose()
    assert version
