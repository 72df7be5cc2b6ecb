"""The property names a client must never set (OWASP API3, mass assignment), the input
properties that carry such a name on purpose, and how the tests read an OpenAPI schema."""

from __future__ import annotations

from typing import Any, Final

# Server-owned property names and a value a mass-assignment attempt would send.
SERVER_OWNED: Final[dict[str, Any]] = {
    "id": "00000000-0000-4000-8000-000000000001",
    "status": "approved",
    "state": "resolved",
    "approver": "mallory",
    "approver_id": "mallory",
    "approved_amount": "99999999.00",
    "approved_by": "mallory",
    "version": 99,
    "row_version": 99,
    "revision": 99,
    "created_at": "2020-01-01T00:00:00Z",
    "updated_at": "2020-01-01T00:00:00Z",
    "created_by": "mallory",
    "requester": "mallory",
    "requested_by": "mallory",
    "decided_by": "mallory",
    "committed": "0.00",
    "actual": "0.00",
    "level": "low",
    "current_stage": 5,
    "completion": 100,
}

# Input properties that carry a server-owned *name* but are the client's by design.
DECLARED_ON_PURPOSE: Final[dict[tuple[str, str], str]] = {
    **{
        (model, "id"): "a section row is replaced in place: the client names the row to keep"
        for model in (
            "ObjectiveIn",
            "PersonaIn",
            "ChannelIn",
            "BudgetLineIn",
            "PhaseIn",
            "RiskIn",
            "PartnerIn",
            "DecompositionNodeIn",
        )
    },
    ("RiskIn", "status"): "a risk's own open/monitoring/closed, not the plan's status",
    ("DecompositionNodeIn", "level"): "the node's place in the tree (company … ambassador)",
    ("DecompositionNodeIn", "actual"): "an ambassador's reported actual, entered by hand",
    ("TaskCreate", "approver_id"): "the planner names the task's R2 when creating it",
    ("TemplateUse", "approver_id"): "the R2 given to every task made from the template",
    ("Reassignment", "approver_id"): "reassigning R2 is what this (planner-only) route does",
    ("FollowUpIn", "approver_id"): "the R2 of the follow-up task an alert rule will create",
    ("ProgressIn", "completion"): "the progress log is where completion % is reported",
    ("ProgressIn", "status"): "an issue's own open/in_progress/handled",
    ("ProgressStatus", "status"): "moving an issue along is what this route does",
    ("FraudFlagCreate", "status"): "a reviewer may flag an entity-day as excluded at once",
    ("FraudDecision", "status"): "excluding or clearing a flag is what this route does",
}


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """A schema with its ``$ref`` followed, and the component's name (None: inline)."""
    ref = schema.get("$ref")
    if ref is None:
        return None, schema
    name = ref.rsplit("/", 1)[-1]
    resolved: dict[str, Any] = spec["components"]["schemas"][name]
    return name, resolved
