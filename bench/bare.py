"""The REST baseline, run as its own process: ``python -m bench.bare`` (DATABASE_URL, PORT).

A bare FastAPI endpoint doing one database round trip (``SELECT 1`` on an asyncpg pool),
served by uvicorn the way the services are, so the ratio prices everything our endpoints add.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import make_url


def create_app(url: str) -> FastAPI:
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(libpq, min_size=5, max_size=10)
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/one")
    async def one() -> dict[str, int]:
        return {"one": await app.state.pool.fetchval("SELECT 1")}

    return app


def main() -> None:
    app = create_app(os.environ["DATABASE_URL"])
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")


if __name__ == "__main__":
    main()
