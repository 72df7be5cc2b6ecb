"""Schemathesis in-process against every service's OpenAPI: no server errors, no responses
that break the schema, and invalid input refused (a bounded run; ``make fuzz`` runs longer)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.result import Ok

from allinone.app import DEFINITIONS, create_allinone_app
from shared.contract.types import Role
from shared.kit.settings import Settings
from tests.conftest import bearer

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
# make test replays the same examples every run, so CI is deterministic; make fuzz explores.
EXPLORE = "FUZZ_EXAMPLES" in os.environ


@pytest.fixture
def served(settings: Settings, database_url: str) -> Iterator[str]:
    """The all-in-one app served by uvicorn on a loopback port, in a thread with its own loop."""
    app, _root = create_allinone_app(settings, database_url=database_url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the server died while starting"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    # Fuzz a ready system: until every consumer has joined, /readyz rightly answers 503.
    while httpx.get(f"{base}/readyz").status_code != 200:
        assert time.monotonic() < deadline, "the services did not become ready"
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.mark.parametrize("service", [d.name for d in DEFINITIONS])
def test_no_input_makes_a_service_fail_or_break_its_schema(served: str, service: str) -> None:
    schema = schemathesis.openapi.from_url(f"{served}/{service}/openapi.json")
    headers = bearer(Role.ADMIN, "fuzzer")
    failures: list[str] = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"the OpenAPI document is invalid: {result.err()}")
            continue
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            derandomize=not EXPLORE,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: Any) -> None:
            # Business rules (an end before a start, a reserve outside 10-15 %) are not in the
            # JSON Schema, so a schema-valid body may rightly be refused with a 422.
            case.call_and_validate(
                base_url=served, headers=headers, excluded_checks=[positive_data_acceptance]
            )

        try:
            exercise()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
