"""The request's transaction commits before the response: a failed commit is never a 2xx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from shared.kit.app import Session
from shared.kit.db import create_engine, create_sessionmaker
from shared.kit.errors import install_problem_handlers


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    engine = create_engine(database_url)
    app = FastAPI()
    app.state.runtime = SimpleNamespace(
        sessions=create_sessionmaker(engine), relay=SimpleNamespace(wake=lambda: None)
    )
    install_problem_handlers(app)

    @app.post("/stored")
    async def stored(session: Session, fail_at_commit: bool = False) -> dict[str, bool]:
        await session.execute(text("CREATE TABLE IF NOT EXISTS public.notes (n int)"))
        await session.execute(
            text(
                "CREATE TEMP TABLE deferred (x int UNIQUE DEFERRABLE INITIALLY DEFERRED) "
                "ON COMMIT DROP"
            )
        )
        await session.execute(text("INSERT INTO public.notes VALUES (1)"))
        if fail_at_commit:  # the unique check is deferred: the statement passes, COMMIT fails
            await session.execute(text("INSERT INTO deferred VALUES (1), (1)"))
        return {"stored": True}

    @app.get("/notes")
    async def notes(session: Session) -> dict[str, int]:
        exists = await session.scalar(text("SELECT to_regclass('public.notes') IS NOT NULL"))
        count = await session.scalar(text("SELECT count(*) FROM public.notes")) if exists else 0
        return {"count": int(count or 0)}

    yield app
    await engine.dispose()


async def test_a_commit_that_fails_is_a_problem_and_nothing_is_stored(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        failed = await client.post("/stored", params={"fail_at_commit": True})
        assert failed.status_code == 409  # the deferred unique check fails at COMMIT
        assert failed.headers["content-type"] == "application/problem+json"
        assert (await client.get("/notes")).json() == {"count": 0}

        assert (await client.post("/stored")).status_code == 200
        assert (await client.get("/notes")).json() == {"count": 1}
