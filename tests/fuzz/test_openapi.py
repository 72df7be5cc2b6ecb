"""Schemathesis in-process against every service's OpenAPI: no server errors, no responses
that break the schema, and invalid input refused (a bounded run; ``make fuzz`` runs longer)."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Ok

from allinone.app import DEFINITIONS
from shared.contract.types import Role
from tests.conftest import bearer

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
# make test replays the same examples every run, so CI is deterministic; make fuzz explores.
EXPLORE = "FUZZ_EXAMPLES" in os.environ


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


# The short stateful run walks the declared links only, with valid data, so its few
# scenarios chain create -> act instead of probing inferred links and invalid bodies.
DECLARED_LINKS_ONLY = SchemathesisConfig.from_dict(
    {"phases": {"stateful": {"inference": {"algorithms": []}}}, "generation": {"mode": "positive"}}
)


def test_the_stateful_phase_follows_links_from_a_created_plan(served: str) -> None:
    schema = schemathesis.openapi.from_url(
        f"{served}/planning/openapi.json", config=DECLARED_LINKS_ONLY
    )
    headers = bearer(Role.ADMIN, "fuzzer")
    answered: list[tuple[str, int]] = []

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, _case: Any) -> dict[str, Any]:
            return {"base_url": served, "headers": headers}

        def after_call(self, response: Any, case: Any) -> None:
            answered.append((case.operation.label, response.status_code))

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(
                response, excluded_checks=[positive_data_acceptance], transport_kwargs=kwargs
            )

    Workflow.run(
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=6,
            derandomize=not EXPLORE,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # A random id finds no plan: a 200 on one plan's routes means a link carried the id of
    # the plan a step before created.
    followed = {label for label, status in answered if "{plan_id}" in label and status < 300}
    assert followed, sorted({(label, status) for label, status in answered if "dead" not in label})
