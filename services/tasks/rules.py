"""Tasks' business rules as plain functions: no database, no HTTP."""

from __future__ import annotations

OWNER_IS_NOT_APPROVER = "the approver (R2) must be someone other than the owner (R1)"


def owner_is_not_approver(owner_id: str, approver_id: str) -> bool:
    """R1 does the work and R2 accepts it: one person never holds both on a task."""
    return owner_id != approver_id
