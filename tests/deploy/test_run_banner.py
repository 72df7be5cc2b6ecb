"""`make run` (python -m allinone) prints its banner only once every service answers /readyz."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import httpx

from distributed.broker import free_port


async def test_the_banner_comes_once_every_service_is_ready(database_url: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BUS": "embedded",
        "PORT": str(port),
        "JOBS_ENABLED": "false",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "allinone",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    try:
        first = await asyncio.wait_for(process.stdout.readline(), timeout=120)
        assert b"starting" in first  # progress while it migrates and starts
        while b"all five services on" not in (
            line := await asyncio.wait_for(process.stdout.readline(), timeout=120)
        ):
            assert line, "the process ended before printing its banner"
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"http://127.0.0.1:{port}/readyz")
        assert answer.status_code == 200, answer.text
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), timeout=60)
