"""Prometheus metrics, JSON logs with the correlation id, and the request middleware."""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Iterable
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from pythonjsonlogger.json import JsonFormatter
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.kit.context import correlation_id
from shared.kit.errors import internal_error
from shared.kit.i18n import SOURCE_LOCALE, choose, current_locale

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests served", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"]
)
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox events published", ["service"])
RELAY_FAILURES = Counter("relay_failures_total", "Relay publish attempts that failed", ["service"])
EVENTS_CONSUMED = Counter(
    "events_consumed_total", "Events handled by consumers", ["consumer", "outcome"]
)
DEAD_LETTERS = Gauge("dead_letters_parked", "Events parked in the dead-letter table", ["consumer"])
OUTBOX_PENDING = Gauge("outbox_pending", "Outbox events not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_pending_age_seconds", "Age of the oldest unpublished outbox event", ["service"]
)
CONSUMER_LAG = Gauge(
    "consumer_lag_records",
    "Records behind the partition's high watermark after the last fetch (Kafka)",
    ["consumer", "topic", "partition"],
)

CORRELATION_HEADER = "x-correlation-id"


class Observed(Protocol):
    """A service runtime whose database-backed gauges a scrape refreshes."""

    async def observe(self) -> None: ...


async def exposition(runtimes: Iterable[Observed]) -> Response:
    """The process's registry in Prometheus text format, gauges refreshed first.

    One registry per process: in the all-in-one process ``/metrics`` and every
    ``/<service>/metrics`` show the same series of all five services (told apart by the
    ``service`` label), so Prometheus scrapes one of them; a per-service process shows its own.
    """
    for runtime in runtimes:
        await runtime.observe()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr, each carrying the correlation id of its request or event."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s")
    )
    handler.addFilter(_CorrelationFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class RequestObservability:
    """ASGI middleware: correlation id in and out, the reader's language (Accept-Language, else
    ``language``, the company's), request count and latency per route."""

    def __init__(self, app: ASGIApp, service: str, language: str = SOURCE_LOCALE) -> None:
        self.app = app
        self.service = service
        self.language = language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(CORRELATION_HEADER.encode(), b"").decode("latin-1")
        token = correlation_id.set(incoming[:128] or uuid.uuid4().hex)
        accepted = headers.get(b"accept-language", b"").decode("latin-1")
        locale_token = current_locale.set(choose(None, accepted, self.language))
        status = 500
        responding = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, responding
            if message["type"] == "http.response.start":
                status = message["status"]
                responding = True
                cid = (correlation_id.get() or "").encode()
                message["headers"] = [
                    *message.get("headers", []),
                    (CORRELATION_HEADER.encode(), cid),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answered here, not by Starlette's outermost handler, so the log line and the 500
            # still carry the correlation id and the kept-alive connection stays open.
            log.exception("unhandled error on %s", scope["path"])
            if responding:
                raise  # half an answer is out: only closing the connection can say it failed
            await internal_error(scope["path"])(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(self.service, scope["method"], template, str(status)).inc()
            HTTP_LATENCY.labels(self.service, scope["method"], template).observe(
                time.perf_counter() - started
            )
            correlation_id.reset(token)
            current_locale.reset(locale_token)
