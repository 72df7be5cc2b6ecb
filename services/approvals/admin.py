"""Reading the audit trail and workflows for the API."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.approvals import audit
from services.approvals.audit import ChainVerification
from services.approvals.schemas import AuditEntryRead, WorkflowRead
from services.approvals.service import workflow_in_force
from shared.kit.pagination import Page, PageWindow, page_of

__all__ = ["ChainVerification", "export", "history", "verify", "workflow"]


async def history(
    session: AsyncSession, request_id: uuid.UUID, window: PageWindow
) -> Page[AuditEntryRead]:
    """A page of one request's history, in order."""
    rows = await audit.history(session, request_id, window)
    return page_of(rows, window, lambda e: (e.id,), AuditEntryRead.model_validate)


async def verify(session: AsyncSession) -> ChainVerification:
    """Check the whole chain."""
    return await audit.verify(session)


async def export(session: AsyncSession, window: PageWindow) -> Page[AuditEntryRead]:
    """A page of the trail, in chain order."""
    rows = await audit.page(session, window)
    return page_of(rows, window, lambda e: (e.id,), AuditEntryRead.model_validate)


async def workflow(session: AsyncSession, key: str) -> WorkflowRead:
    """The workflow in force."""
    version, definition = await workflow_in_force(session, key)
    return WorkflowRead(key=key, version=version, definition=definition)
