"""``python -m allinone`` serves everything; ``migrate`` and ``revision`` manage migrations."""

from __future__ import annotations

import argparse
import asyncio
import os

import uvicorn

from allinone.app import DEFINITIONS, create_allinone_app
from shared.contract.events import CATALOGUE
from shared.contract.types import Role
from shared.kit import migrations
from shared.kit.app import resolve_database_url
from shared.kit.bus.topics import service_topics
from shared.kit.db import create_engine
from shared.kit.observability import configure_logging
from shared.kit.serve import freeze_startup_objects
from shared.kit.settings import get_settings, refuse_unsafe_production
from shared.kit.tokens import mint_token


def _banner(host: str, port: int) -> str:
    settings = get_settings()
    base = f"http://{host}:{port}"
    lines = [
        f"campaign placement: all five services on {base} (bus: {settings.bus_kind.value})",
        "",
    ]
    lines += [f"  {d.name:<10} {base}/{d.name}/docs" for d in DEFINITIONS]
    lines += ["", "development tokens (12 h; `make token ROLE=<role> SUB=<user>` for another):"]
    lines += [f"  {r.value:<10} {mint_token(f'dev-{r.value}', [r], settings)}" for r in Role]
    lines += ["", "use: curl -H 'Authorization: Bearer <token>' " + f"{base}/planning/plans", ""]
    return "\n".join(lines)


def _topics() -> str:
    settings = get_settings()
    specs = {
        spec.name: spec
        for d in DEFINITIONS
        for spec in service_topics(d.name, d.subscribers, CATALOGUE, settings)
    }
    return "\n".join(specs[name].describe() for name in sorted(specs))


async def _migrate_all() -> None:
    settings = get_settings()
    for definition in DEFINITIONS:
        engine = create_engine(resolve_database_url(definition.name, settings))
        try:
            await migrations.upgrade(engine, definition.name, definition.migrations_dir)
        finally:
            await engine.dispose()
        print(f"{definition.name}: migrated")


async def _revision(service: str, message: str) -> None:
    definition = next(d for d in DEFINITIONS if d.name == service)
    engine = create_engine(resolve_database_url(service, get_settings()))
    try:
        await migrations.upgrade(engine, service, definition.migrations_dir)
        await migrations.revision(engine, service, definition.migrations_dir, message)
    finally:
        await engine.dispose()


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m allinone")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve all services (the default)")
    sub.add_parser("migrate", help="apply every service's pending migrations")
    sub.add_parser("topics", help="print the Kafka topics every service needs")
    rev = sub.add_parser("revision", help="autogenerate a migration for one service")
    rev.add_argument("service", choices=[d.name for d in DEFINITIONS])
    rev.add_argument("-m", "--message", required=True)
    args = parser.parse_args()

    if args.command == "migrate":
        asyncio.run(_migrate_all())
    elif args.command == "topics":
        print(_topics())
    elif args.command == "revision":
        asyncio.run(_revision(args.service, args.message))
    else:
        settings = get_settings()
        configure_logging(settings.log_level)
        refuse_unsafe_production(settings)
        host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8000"))
        where = "DATABASE_URL" if settings.database_url else "the embedded PostgreSQL"
        print(f"campaign placement: starting {where}, migrating, starting five services…")
        app, _root = create_allinone_app(
            settings, on_ready=lambda: print(_banner(host, port), flush=True)
        )
        freeze_startup_objects()
        uvicorn.run(app, host=host, port=port, log_config=None, timeout_graceful_shutdown=20)


if __name__ == "__main__":
    main()
