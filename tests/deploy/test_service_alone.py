"""`python -m services.<name>` in production mode fails fast and says why when Kafka is down."""

from __future__ import annotations

import asyncio
import os
import socket
import sys

import pytest


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("service", ["planning", "metrics"])
async def test_a_service_alone_refuses_to_start_without_its_broker(
    database_url: str, service: str
) -> None:
    broker = f"127.0.0.1:{_closed_port()}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": broker,
        "PORT": str(_closed_port()),
        "MIGRATE_ON_START": "false",
        "JWT_SECRET": "a-production-secret-of-at-least-32-characters",
        "SECRET_KEYS": '["VGhpcyBpcyBub3QgdGhlIGRldmVsb3BtZW50IGtleSE="]',
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"services.{service}",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    text = output.decode()
    assert process.returncode != 0, text
    assert f"Kafka at {broker}" in text
    assert "Application startup failed" in text


async def test_production_mode_refuses_the_development_jwt_secret(database_url: str) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "JWT_SECRET"},
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{_closed_port()}",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.tasks",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode != 0
    assert "JWT_SECRET is the development default" in output.decode()
