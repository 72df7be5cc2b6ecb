"""Reading the audit trail and workflows for the API."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.approvals import audit
from services.approvals.audit import ChainVerification
from services.approvals.schemas import AuditEntryRead, WorkflowRead
from services.approvals.service import workflow_in_force

__all__ = ["ChainVerification", "export", "history", "verify", "workflow"]


async def history(session: AsyncSession, request_id: uuid.UUID) -> list[AuditEntryRead]:
    """One request's full history."""
    return [AuditEntryRead.model_validate(e) for e in await audit.history(session, request_id)]


async def verify(session: AsyncSession) -> ChainVerification:
    """Check the whole chain."""
    return await audit.verify(session)


async def export(session: AsyncSession, after_id: int, limit: int) -> list[AuditEntryRead]:
    """A page of the trail."""
    return [AuditEntryRead.model_validate(e) for e in await audit.page(session, after_id, limit)]


async def workflow(session: AsyncSession, key: str) -> WorkflowRead:
    """The workflow in force."""
    version, definition = await workflow_in_force(session, key)
    return WorkflowRead(key=key, version=version, definition=definition)
