"""Fault points for the kill -9 harness (``make chaos``): a process may SIGKILL itself here.

Off unless ``FAULT_POINTS`` arms points, as ``name:probability`` pairs separated by commas; an
armed point kills the process with its probability, after appending its name to ``FAULT_LOG``
so the harness can count kills per point. In production the variable is unset and a fault
point is one dictionary lookup.
"""

from __future__ import annotations

import os
import random
import signal

RELAY_AFTER_PUBLISH = "relay.after_publish"  # published, not yet marked sent
RELAY_AFTER_MARK = "relay.after_mark"  # marked sent, transaction not committed
CONSUMER_AFTER_EFFECT = "consumer.after_effect"  # effects committed, offset not committed
CONSUMER_MID_BATCH = "consumer.mid_batch"  # some of a fetched batch applied


def _armed(spec: str) -> dict[str, float]:
    pairs = (item.rsplit(":", 1) for item in spec.split(",") if item)
    return {name: float(probability) for name, probability in pairs}


_ARMED = _armed(os.environ.get("FAULT_POINTS", ""))
_LOG = os.environ.get("FAULT_LOG", "")
_RANDOM = random.Random(os.environ.get("FAULT_SEED"))  # noqa: S311 — chaos, not crypto


def fault_point(name: str) -> None:
    """Die here (SIGKILL, no cleanup) when the harness armed this point and the dice say so."""
    probability = _ARMED.get(name)
    if probability is None or _RANDOM.random() >= probability:
        return
    if _LOG:
        fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{name}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)
