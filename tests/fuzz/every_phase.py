"""``make fuzz``: schemathesis' own runner with every check and every phase (examples,
coverage, fuzzing, stateful) against each service. Not collected by ``make test``, which
runs the short version in test_openapi.py; name this file to pytest to run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from allinone.app import DEFINITIONS
from shared.contract.types import Role
from tests.conftest import bearer

EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "200")
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.mark.parametrize("service", [d.name for d in DEFINITIONS])
def test_every_check_and_phase_passes(served: str, service: str, tmp_path: Path) -> None:
    authorization = bearer(Role.ADMIN, "fuzzer")["Authorization"]
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{served}/{service}/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        EXAMPLES,
        "--header",
        f"Authorization: {authorization}",
        "--report-dir",
        str(tmp_path),
    ]
    finished = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=3600, cwd=tmp_path
    )
    print(finished.stdout)  # the phases' tallies and links covered, shown with pytest -s
    assert finished.returncode == 0, finished.stdout[-20000:] + finished.stderr[-5000:]
