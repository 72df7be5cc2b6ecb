"""Serve one service alone (production mode): ``python -m services.<name>``."""

from __future__ import annotations

import os
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.kit.observability import configure_logging
from shared.kit.settings import get_settings, refuse_unsafe_production


def serve(create_app: Callable[[], FastAPI]) -> None:
    """Build the app and run it under uvicorn on HOST:PORT (default 127.0.0.1:8000)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    refuse_unsafe_production(settings)
    uvicorn.run(
        create_app(),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        log_config=None,
        timeout_graceful_shutdown=20,
    )
