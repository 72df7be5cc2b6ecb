"""The audit trail and workflows for the API: reading both, and saving a new workflow version."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.approvals import audit
from services.approvals.audit import ChainVerification
from services.approvals.models import Workflow
from services.approvals.repository import ApprovalRepository
from services.approvals.schemas import AuditEntryRead, WorkflowRead
from services.approvals.service import workflow_in_force
from services.approvals.workflows import WorkflowDefinition
from shared.kit.auth import Principal
from shared.kit.pagination import Page, PageWindow, page_of

__all__ = ["ChainVerification", "export", "history", "set_workflow", "verify", "workflow"]


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


async def set_workflow(
    session: AsyncSession, key: str, definition: WorkflowDefinition, actor: Principal
) -> WorkflowRead:
    """Save a new version of a workflow; requests already open keep the route they had."""
    version, _current = await workflow_in_force(session, key)
    row = Workflow(
        key=key,
        version=version + 1,
        definition=definition.model_dump(mode="json"),
        created_by=actor.subject,
    )
    await ApprovalRepository(session).add(row)
    await audit.append(
        session,
        request_id=None,
        actor=actor.subject,
        action="workflow.changed",
        detail={"key": key, "version": row.version},
    )
    return WorkflowRead(key=key, version=row.version, definition=definition)
