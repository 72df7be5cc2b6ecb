"""Errors as nouns under one base, mapped once to RFC 9457 problem+json."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.kit.context import correlation_id
from shared.kit.i18n import current_locale, kit_text, language_tag
from shared.kit.routes import allowed_methods

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "/problems/"
# The catalogue of problem titles and details (shared/kit/locale/<locale>/LC_MESSAGES/).
PROBLEMS_DOMAIN = "problems"


class FieldProblem(BaseModel):
    """One input that failed validation, or one business rule a field broke.

    ``code`` says what failed: a validation error's type (``missing``, ``date_from_datetime``…)
    or the name of the business rule; ``rule`` repeats that name for a rule, as the problem's
    own ``rule`` member does."""

    model_config = ConfigDict(extra="forbid")

    field: str
    location: str | int
    message: str
    code: str
    rule: str | None = None


class InvalidField(ValueError):
    """A cross-field check in a model validator that knows which field is at fault.

    Pydantic places a model validator's error on the whole model; the 422 handler moves it to
    ``field`` so the client learns which input to change (``ends_on``, not ``body``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def field_problems(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Business-rule findings in the declared shape: every item names field, location,
    message and code (the rule)."""
    shaped = []
    for error in errors:
        rule = error.get("rule")
        item = {
            "field": str(error.get("field") or "body"),
            "location": error.get("location", "body"),
            "message": str(error.get("message", "")),
            "code": str(error.get("code") or rule or "invalid"),
        }
        if rule is not None:
            item["rule"] = str(rule)
        shaped.append(item)
    return shaped


class Problem(BaseModel):
    """RFC 9457 problem details, as every 4xx and 5xx of this system is answered."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str
    correlation_id: str | None = None
    errors: list[FieldProblem] | None = None


_PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "model": Problem, "content": _PROBLEM_CONTENT}
    for status, description in {
        400: "Bad request",
        401: "Authentication required",
        403: "Forbidden for this role",
        404: "Not found",
        409: "Conflict with the current state",
        412: "If-Match named a stale version",
        413: "Body too large",
        422: "Invalid input or a business rule refused it",
        429: "Too many requests",
        500: "Internal error",
        503: "Not ready or overloaded",
    }.items()
}


class DomainError(Exception):
    """Base of every error a client can cause; ``slug`` makes the stable problem type."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class NotFound(DomainError):
    """The resource does not exist (or the caller may not know it does)."""

    status, slug, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    """The request conflicts with the current state."""

    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(DomainError):
    """If-Match named a version that is no longer current."""

    status, slug, title = 412, "precondition-failed", "Precondition failed"


class RuleViolated(DomainError):
    """A business rule refused the request; ``rule`` names it, ``field`` the input at fault."""

    status, slug, title = 422, "rule-violated", "Business rule violated"


class Unauthenticated(DomainError):
    """No valid credentials."""

    status, slug, title = 401, "unauthenticated", "Authentication required"


class Forbidden(DomainError):
    """Authenticated, but this role may not do this."""

    status, slug, title = 403, "forbidden", "Forbidden"


def problem(
    status: int, slug: str, title: str, detail: str, instance: str, /, **extensions: Any
) -> JSONResponse:
    """A problem+json response carrying the correlation id for support.

    Title, detail and each field's message are in the reader's language (Accept-Language, else
    the company's); ``type``, field names, codes and rules stay as they are, so clients can
    branch on them in any language."""
    locale = current_locale.get()

    def words(english: str) -> str:
        return kit_text(PROBLEMS_DOMAIN, english, locale)

    if isinstance(extensions.get("errors"), list):
        extensions["errors"] = [
            {**item, "message": words(item["message"])}
            for item in field_problems(extensions["errors"])
        ]
    # The standard members come last so an extension can never overwrite them.
    body: dict[str, Any] = {
        **extensions,
        "type": PROBLEM_BASE + slug,
        "title": words(title),
        "status": status,
        "detail": words(detail),
        "instance": instance,
    }
    if cid := correlation_id.get():
        body["correlation_id"] = cid
    headers = {"Content-Language": language_tag(locale), "Vary": "Accept-Language"}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if "retry_after" in extensions:  # 429/503: tell the client when to come back
        headers["Retry-After"] = str(extensions["retry_after"])
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if part not in ("body",)) or "body"


def _validation_item(error: Mapping[str, Any]) -> dict[str, Any]:
    """One pydantic/FastAPI error as a field problem that names the input, never a position."""
    loc = tuple(error["loc"])
    message = str(error["msg"])
    if error["type"] == "json_invalid":
        # FastAPI places a JSON syntax error at its character offset; that is no field.
        reason = (error.get("ctx") or {}).get("error", "invalid JSON")
        position = f" at character {loc[1]}" if len(loc) > 1 else ""
        return {
            "field": "body",
            "location": "body",
            "message": f"the body is not valid JSON: {reason}{position}",
            "code": "json_invalid",
        }
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, InvalidField):
        loc = (*loc, cause.field)
    return {
        "field": _field_path(loc),
        "location": loc[0],
        "message": message,
        "code": error["type"],
    }


# SQLSTATE class 22 is "data exception": a value the database cannot hold (a NUL in text or
# JSON, a moment before year 1, a number out of range). Such values come from the client, so they
# are its error; the transaction was rolled back. Python's refusal to encode an unpaired
# surrogate is the same kind of error.
DATA_EXCEPTION_CLASS = "22"
UNIQUE_VIOLATION = "23505"
# Failures that pass: a serialization failure or deadlock (40), a statement cancelled by its
# timeout (57014), a lock not granted (55P03), a server out of connections or memory (53), a
# lost connection (08) or a server shutting down (57P0x). The client should simply retry.
TRANSIENT_SQLSTATES = ("40", "57014", "55P03", "53", "08", "57P0")


def _unstorable(request: Request) -> JSONResponse:
    return problem(
        422,
        "unstorable-value",
        "Value cannot be stored",
        "a value is outside what can be stored (a NUL character, an unpaired surrogate, "
        "or a date or number out of range); nothing was stored",
        request.url.path,
        rule="storable-value",
    )


def _storage_unavailable(request: Request) -> JSONResponse:
    return problem(
        503,
        "storage-unavailable",
        "Storage unavailable, retry later",
        "the database could not take the request just now; nothing was stored",
        request.url.path,
        retry_after=1,
    )


def internal_error(instance: str) -> JSONResponse:
    """The 500 answer: nothing about the failure leaks, the correlation id finds its log."""
    return problem(
        500, "internal", "Internal error", "The server failed; it has been logged.", instance
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error a client can cause to problem+json, and anything else to a bare 500."""

    @app.exception_handler(DomainError)
    async def on_domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return problem(
            exc.status, exc.slug, exc.title, exc.detail, request.url.path, **exc.extensions
        )

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_validation_item(e) for e in exc.errors()]
        only_path = all(e["location"] == "path" for e in errors)
        if only_path and request.method not in allowed_methods(request.app, request.url.path):
            # GET /requests/preview reached GET /requests/{request_id} and failed its id; but
            # the path is the preview's, which takes no GET.
            return on_http_error(request, StarletteHTTPException(405, "Method Not Allowed"))
        fields = ", ".join(sorted({e["field"] for e in errors}))
        return problem(
            422,
            "validation",
            "Invalid request",
            f"Invalid input: {fields}",
            request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return on_http_error(request, exc)

    def on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(
            exc.status_code, "http-error"
        )
        title = {413: "Payload too large"}.get(exc.status_code, str(exc.detail))
        # A cap's own error says the cap, as the refusal of a declared length does.
        extensions = (
            {"limit": limit} if isinstance(limit := getattr(exc, "limit", None), int) else {}
        )
        answer = problem(
            exc.status_code, slug, title, str(exc.detail), request.url.path, **extensions
        )
        answer.headers.update(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route on this path; a path often has
            # several routes (GET and POST on a collection), so list them all.
            answer.headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
        return answer

    def by_sqlstate(request: Request, state: str) -> JSONResponse | None:
        if state.startswith(DATA_EXCEPTION_CLASS):
            return _unstorable(request)
        if state == UNIQUE_VIOLATION:
            return problem(
                409,
                "conflict",
                "Conflict",
                "a value that must be unique is already taken; nothing was stored",
                request.url.path,
                rule="unique",
            )
        if state.startswith(TRANSIENT_SQLSTATES):
            return _storage_unavailable(request)
        return None

    @app.exception_handler(DBAPIError)
    async def on_database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        state = str(getattr(exc.orig, "sqlstate", "") or "")
        if answer := by_sqlstate(request, state):
            return answer
        if exc.connection_invalidated:
            return _storage_unavailable(request)
        return await on_unexpected(request, exc)

    @app.exception_handler(asyncpg.PostgresError)
    async def on_driver_error(request: Request, exc: asyncpg.PostgresError) -> JSONResponse:
        # The webhook hot path talks to asyncpg directly, so its errors arrive unwrapped.
        state = str(getattr(exc, "sqlstate", "") or "")
        return by_sqlstate(request, state) or await on_unexpected(request, exc)

    @app.exception_handler(PoolTimeout)
    async def on_pool_exhausted(request: Request, _exc: PoolTimeout) -> JSONResponse:
        return _storage_unavailable(request)

    @app.exception_handler(ConnectionError)
    async def on_unreachable(request: Request, _exc: ConnectionError) -> JSONResponse:
        log.warning("database unreachable on %s", request.url.path, exc_info=True)
        return _storage_unavailable(request)

    @app.exception_handler(UnicodeEncodeError)
    async def on_unencodable(request: Request, _exc: UnicodeEncodeError) -> JSONResponse:
        return _unstorable(request)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, _exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return internal_error(request.url.path)
