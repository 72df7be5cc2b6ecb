"""A/B experiment routes: start one, list a plan's, and review one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response, status

from services.metrics.access import Analyst
from services.metrics.experiments import service as experiments_service
from services.metrics.experiments.schemas import ExperimentCreate, ExperimentRead, ExperimentReview
from shared.kit.app import Session
from shared.kit.auth import Authenticated
from shared.kit.http import set_location
from shared.kit.idempotency import IdempotencyKey
from shared.kit.pagination import Page, Paging

router = APIRouter(tags=["metrics"])


@router.post(
    "/plans/{plan_id}/experiments",
    status_code=status.HTTP_201_CREATED,
    response_model=ExperimentRead,
)
async def create_experiment(
    plan_id: uuid.UUID,
    data: ExperimentCreate,
    session: Session,
    analyst: Analyst,
    request: Request,
    response: Response,
    key: IdempotencyKey = None,
) -> ExperimentRead:
    """Start an A/B experiment: arms of fact entities (the control first) compared on a
    proportion metric, with the minimum sample per arm fixed in advance."""
    now = datetime.now(UTC)
    made = await experiments_service.create_experiment_once(
        session, plan_id, data, analyst.subject, now, key
    )
    set_location(response, request, "review_experiment", plan_id=plan_id, experiment_id=made.id)
    return made


@router.get("/plans/{plan_id}/experiments", response_model=Page[ExperimentRead])
async def list_experiments(
    plan_id: uuid.UUID, session: Session, _caller: Authenticated, paging: Paging
) -> Page[ExperimentRead]:
    """A plan's experiments, oldest first."""
    return paging.respond(await experiments_service.experiments(session, plan_id, paging.window))


@router.get("/plans/{plan_id}/experiments/{experiment_id}/review", response_model=ExperimentReview)
async def review_experiment(
    plan_id: uuid.UUID, experiment_id: uuid.UUID, session: Session, _caller: Authenticated
) -> ExperimentReview:
    """Each arm's rate with its 95 % interval, the uplift against the control, the p-value of
    a fixed-horizon two-proportion z-test and the verdict (winner, no difference, not enough
    data)."""
    return await experiments_service.review(session, plan_id, experiment_id)
