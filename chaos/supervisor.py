"""One worker process (relay or consumer) kept running: started, SIGKILLed, restarted."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path


class Supervisor:
    """Keeps one worker process running, restarting it whenever it dies."""

    def __init__(self, role: str, env: dict[str, str], log_path: Path) -> None:
        self.role = role
        self.env = env
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.progress_at_start = 0
        self.kill_at: float | None = None

    @property
    def alive(self) -> bool:
        """True while its process runs."""
        return self.process is not None and self.process.returncode is None

    async def ensure_running(self, seed: int, progress: int) -> None:
        """Start the worker if it is not running (first start, or after a death)."""
        if self.process is not None and self.process.returncode is None:
            try:
                await asyncio.wait_for(self.process.wait(), timeout=0.001)
            except TimeoutError:
                return
        # A fresh seed per start, so a restarted worker does not replay the same dice.
        self.env["FAULT_SEED"] = f"{seed}-{self.role}-{self.starts}"
        self.starts += 1
        self.progress_at_start = progress
        self.kill_at = None
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "chaos.worker",
                self.role,
                env=self.env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )

    def kill(self) -> bool:
        """SIGKILL the worker now; True when one was running."""
        if not self.alive or self.process is None:
            return False
        self.process.send_signal(signal.SIGKILL)
        return True

    async def stop(self) -> None:
        """Kill and reap."""
        if self.kill() and self.process is not None:
            await self.process.wait()
