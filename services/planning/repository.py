"""Every query of the planning service; flushes, never commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import TypeVar

from sqlalchemy import delete, exists, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession

from services.planning.models import (
    RETROSPECTIVE_DOCUMENT,
    Adjustment,
    Base,
    BudgetLine,
    Channel,
    Objective,
    Partner,
    Plan,
    PlanVersion,
    RetrospectiveRow,
    known_metrics,
)
from shared.contract.events.metrics import MetricDefinedV1
from shared.kit.pagination import PageWindow, keyset

Row = TypeVar("Row", bound=Base)


class PlanRepository:
    """Plans and their sections in one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: Row) -> Row:
        """Insert a row and load its server defaults."""
        self.session.add(row)
        await self.session.flush()
        await self.session.refresh(row)
        return row

    async def insert(self, row: Row) -> Row:
        """Insert a row whose mapper loads its server defaults in the INSERT's RETURNING
        (``eager_defaults``): one round trip, no refresh."""
        self.session.add(row)
        await self.session.flush()
        return row

    async def get_or_none(self, plan_id: uuid.UUID, *, for_update: bool = False) -> Plan | None:
        """One plan by id; ``for_update`` locks it so concurrent writers queue behind us."""
        query = select(Plan).where(Plan.id == plan_id)
        if for_update:
            # Read afresh under the lock, even if this session already loaded the plan.
            query = query.with_for_update().execution_options(populate_existing=True)
        return (await self.session.scalars(query)).first()

    async def section(self, model: type[Row], plan_id: uuid.UUID) -> Sequence[Row]:
        """A plan's rows of one section, in the order they were entered."""
        query = select(model).where(model.plan_id == plan_id).order_by(model.position)  # type: ignore[attr-defined]
        return (await self.session.scalars(query)).all()

    async def replace_section(
        self, model: type[Base], plan_id: uuid.UUID, rows: Sequence[Base]
    ) -> None:
        """Swap a plan's rows of one section for new ones."""
        await self.session.execute(delete(model).where(model.plan_id == plan_id))  # type: ignore[attr-defined]
        self.session.add_all(rows)
        await self.session.flush()

    async def list_page(
        self,
        *,
        after: uuid.UUID | None,
        limit: int,
        status: str | None,
        owner_id: str | None,
        active_on: date | None,
        overlaps_from: date | None,
        overlaps_to: date | None,
        channel_type: str | None,
    ) -> Sequence[Plan]:
        """Up to ``limit + 1`` plans ordered by id, after a cursor, filtered."""
        query = select(Plan).order_by(Plan.id).limit(limit + 1)
        if after is not None:
            query = query.where(Plan.id > after)
        if status is not None:
            query = query.where(Plan.status == status)
        if owner_id is not None:
            query = query.where(Plan.owner_id == owner_id)
        if active_on is not None:
            query = query.where(Plan.starts_on <= active_on, Plan.ends_on >= active_on)
        if overlaps_from is not None:
            query = query.where(Plan.ends_on >= overlaps_from)
        if overlaps_to is not None:
            query = query.where(Plan.starts_on <= overlaps_to)
        if channel_type is not None:
            query = query.where(
                exists().where(Channel.plan_id == Plan.id, Channel.channel_type == channel_type)
            )
        return (await self.session.scalars(query)).all()

    async def partner(self, partner_id: uuid.UUID) -> Partner | None:
        """One partner by id, locked for a change."""
        query = select(Partner).where(Partner.id == partner_id).with_for_update()
        return (await self.session.scalars(query)).first()

    async def objective(self, objective_id: uuid.UUID) -> Objective | None:
        """One objective by id."""
        return await self.session.get(Objective, objective_id)

    async def budget_line(
        self, line_id: uuid.UUID, *, for_update: bool = False
    ) -> BudgetLine | None:
        """One budget line by id."""
        query = select(BudgetLine).where(BudgetLine.id == line_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def channel_lines(
        self, plan_id: uuid.UUID, channel_id: uuid.UUID | None
    ) -> Sequence[BudgetLine]:
        """A plan's budget lines of one channel (or with no channel), channel fees first."""
        query = (
            select(BudgetLine)
            .where(BudgetLine.plan_id == plan_id, BudgetLine.channel_id == channel_id)
            .order_by(BudgetLine.cost_type != "channel_fee", BudgetLine.position)
        )
        return (await self.session.scalars(query)).all()

    async def versions(self, plan_id: uuid.UUID) -> Sequence[PlanVersion]:
        """Every kept version of a plan, oldest first."""
        query = (
            select(PlanVersion).where(PlanVersion.plan_id == plan_id).order_by(PlanVersion.version)
        )
        return (await self.session.scalars(query)).all()

    async def versions_page(self, plan_id: uuid.UUID, window: PageWindow) -> Sequence[PlanVersion]:
        """Up to ``limit + 1`` kept versions of a plan after the cursor, oldest first."""
        query = select(PlanVersion).where(PlanVersion.plan_id == plan_id)
        return (await self.session.scalars(keyset(query, window, PlanVersion.version))).all()

    async def adjustments_page(
        self, plan_id: uuid.UUID, window: PageWindow
    ) -> Sequence[Adjustment]:
        """Up to ``limit + 1`` of a plan's adjustments after the cursor, oldest first."""
        query = select(Adjustment).where(Adjustment.plan_id == plan_id)
        ordered = keyset(query, window, Adjustment.created_at, Adjustment.id)
        return (await self.session.scalars(ordered)).all()

    async def adjustment(
        self, adjustment_id: uuid.UUID, *, for_update: bool = False
    ) -> Adjustment | None:
        """One adjustment by id."""
        query = select(Adjustment).where(Adjustment.id == adjustment_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def search_retrospectives(
        self, *, text: str | None, after: uuid.UUID | None, limit: int
    ) -> Sequence[RetrospectiveRow]:
        """Retrospective rows across plans matching ``text``: by English word stems (web search
        syntax: "a phrase", -word, or), or holding it as a case-insensitive substring (what
        finds Chinese, which the English parser does not split into words)."""
        query = select(RetrospectiveRow).order_by(RetrospectiveRow.id).limit(limit + 1)
        if after is not None:
            query = query.where(RetrospectiveRow.id > after)
        if text:
            words = sql_text(
                f"{RETROSPECTIVE_DOCUMENT} @@ websearch_to_tsquery('english'::regconfig, :words)"
            ).bindparams(words=text)
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            columns = (
                RetrospectiveRow.stage,
                RetrospectiveRow.what_worked,
                RetrospectiveRow.fell_short,
                RetrospectiveRow.root_cause,
                RetrospectiveRow.measure,
            )
            query = query.where(or_(words, *(c.ilike(pattern) for c in columns)))
        return (await self.session.scalars(query)).all()

    async def remember_derived_metric(self, event: MetricDefinedV1) -> None:
        """Keep a derived metric the metrics service announced (the newest version wins)."""
        await known_metrics.remember(self.session, event)

    async def derived_metrics(self) -> dict[str, str]:
        """The derived metrics known so far: key → kind."""
        return await known_metrics.kinds(self.session)
