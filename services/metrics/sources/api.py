"""Sources' routes: signed webhook ingestion, and registering sources, secrets and mappings."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Query, Request, Response, status

from services.metrics.access import Operator
from services.metrics.facts import coalesce, ingest
from services.metrics.schemas import MappingIn, SourceCreate, SourceRead
from services.metrics.sources import service as sources_service
from shared.kit.app import Session, runtime_of
from shared.kit.errors import DomainError
from shared.kit.http import set_location
from shared.kit.idempotency import IdempotencyKey
from shared.kit.pagination import Page, Paging
from shared.kit.runtime import ServiceRuntime

MAX_BODY = 10 * 1024 * 1024  # a 10,000-row batch is well under this
MAX_IN_FLIGHT = 16
QUEUE_SECONDS = 5.0

SMALL_BODY = 64 * 1024  # a body this small may be a small delivery, coalesced with others


@asynccontextmanager
async def _coalescing(app: FastAPI) -> AsyncIterator[None]:
    """The app's coalescer of small deliveries: started after the runtime, stopped (its last
    group stored) before the runtime's engine goes."""
    runtime: ServiceRuntime = app.state.runtime
    coalescer = coalesce.Coalescer(runtime.sessions, runtime.relay.wake)
    await coalescer.start()
    app.state.coalescer = coalescer
    try:
        yield
    finally:
        app.state.coalescer = None  # late requests take the one-transaction path
        await coalescer.stop()


router = APIRouter(tags=["metrics"], lifespan=_coalescing)
_in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)


class PayloadTooLarge(DomainError):
    """The body is over the size cap."""

    status, slug, title = 413, "payload-too-large", "Payload too large"


class Busy(DomainError):
    """Too many ingests at once; the platform should retry."""

    status, slug, title = 503, "busy", "Busy, retry later"


@router.post("/webhooks/{source_id}", status_code=status.HTTP_200_OK, max_body_size=MAX_BODY)
async def webhook(source_id: uuid.UUID, request: Request) -> dict[str, Any]:
    """Signed batch ingestion (Standard Webhooks); stored whole or refused with per-row errors.

    An internal source's system posts the same batches with its service token (``Authorization:
    Bearer``) instead of a signature, and its delivery id as ``Idempotency-Key`` or webhook-id.

    Small deliveries are stored with others in one transaction; larger ones each in their own.
    Either way the answer is sent after the commit."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge(f"the body is over {MAX_BODY} bytes", limit=MAX_BODY)
    headers = {
        k: request.headers.get(k) for k in ("webhook-id", "webhook-timestamp", "webhook-signature")
    }
    # An internal source's service token; a system may name its delivery id the usual HTTP
    # way (a platform's signature covers webhook-id, so that header wins when both come).
    headers["authorization"] = request.headers.get("authorization")
    headers["webhook-id"] = headers["webhook-id"] or request.headers.get("idempotency-key")
    body: bytes | None = None
    parsed: ingest.Report | None = None
    coalescer: coalesce.Coalescer | None = getattr(request.app.state, "coalescer", None)
    small = declared is not None and declared.isdigit() and int(declared) <= SMALL_BODY
    if coalescer is not None and small:
        body = await request.body()
        parsed = ingest.parse_report(body, datetime.now(UTC))
        if parsed is not None and len(parsed.rows) <= coalesce.SMALL_ROWS:
            return await coalescer.submit(source_id, headers, body, parsed, datetime.now(UTC))
    try:
        # A short queue absorbs bursts; past it, shed load and let the platform retry.
        await asyncio.wait_for(_in_flight.acquire(), timeout=QUEUE_SECONDS)
    except TimeoutError:
        raise Busy("too many deliveries in progress", retry_after=1) from None
    try:
        if body is None:
            body = await request.body()
        if len(body) > MAX_BODY:
            raise PayloadTooLarge(f"the body is over {MAX_BODY} bytes", limit=MAX_BODY)
        return await ingest.ingest_alone(
            runtime_of(request), source_id, headers, body, datetime.now(UTC), report=parsed
        )
    finally:
        _in_flight.release()


@router.post("/sources", status_code=status.HTTP_201_CREATED, response_model=SourceRead)
async def create_source(
    data: SourceCreate,
    session: Session,
    operator: Operator,
    request: Request,
    response: Response,
    key: IdempotencyKey = None,
) -> SourceRead:
    """Register a source; its first signing secret is shown in this answer (and its retries)."""
    source = await sources_service.create_source_once(session, data, operator.subject, key)
    set_location(response, request, "get_source", source_id=source.id)
    return source


@router.get("/sources", response_model=Page[SourceRead])
async def list_sources(session: Session, _operator: Operator, paging: Paging) -> Page[SourceRead]:
    """The sources by name (secrets hidden)."""
    return paging.respond(await sources_service.list_sources(session, paging.window))


@router.get("/sources/{source_id}", response_model=SourceRead)
async def get_source(source_id: uuid.UUID, session: Session, _operator: Operator) -> SourceRead:
    """One source (secrets hidden)."""
    return await sources_service.get_source(session, source_id)


@router.post("/sources/{source_id}/secrets", response_model=SourceRead)
async def rotate_secret(
    source_id: uuid.UUID,
    session: Session,
    _operator: Operator,
    retire: Annotated[
        str | None, Query(max_length=40, description="id of a secret to retire")
    ] = None,
) -> SourceRead:
    """Add a new secret (both verify until the old one is retired), or retire one."""
    return await sources_service.rotate_secret(session, source_id, retire)


@router.put("/sources/{source_id}/mappings", status_code=status.HTTP_204_NO_CONTENT)
async def map_entities(
    source_id: uuid.UUID,
    items: Annotated[list[MappingIn], Body(max_length=1000)],
    session: Session,
    _operator: Operator,
) -> None:
    """Map platform campaign ids to plans and channels."""
    await sources_service.map_entities(session, source_id, items)
