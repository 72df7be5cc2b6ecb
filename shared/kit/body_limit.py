"""A cap on every request body, enforced before the body is read.

A declared ``Content-Length`` over the cap is refused at once, without reading a byte; a body
sent in chunks is counted as it arrives and refused the moment it passes the cap, so the rest
is never read. Either way the answer is a 413 problem. A route that needs more (a webhook's
batches) declares its own cap with FastAPI's ``max_body_size=`` route argument; this middleware
reads it from the route that matches the path, and only when the default is exceeded.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.kit.errors import problem
from shared.kit.routes import own_body_cap

# The largest JSON body a form of this system sends is a few tens of KiB (a plan with its
# sections); a mebibyte leaves room without letting one request take a worker's memory.
DEFAULT_MAX_BODY = 1024 * 1024


class BodyTooLarge(HTTPException):
    """The body passed its cap while being read; the problem handler answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is over {limit} bytes, the cap of this route")
        self.limit = limit


def declared_length(scope: Scope) -> int | None:
    """The Content-Length the client declared, when it declared a sane one."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def route_limit(scope: Scope, default: int) -> int:
    """The cap of the route this request goes to: its own ``max_body_size``, else the default."""
    own = own_body_cap(scope.get("app"), scope["path"], scope["method"])
    return default if own is None else own


class BodyLimit:
    """ASGI middleware: 413 for a body over its route's cap, before reading it."""

    def __init__(self, app: ASGIApp, default: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope)
        # Looking the route up costs a walk over the routes: only done past the default.
        limit = self.default
        if declared is not None and declared > limit:
            limit = route_limit(scope, self.default)
            if declared > limit:
                refused = problem(
                    413,
                    "payload-too-large",
                    "Payload too large",
                    f"the body declares {declared} bytes; this route takes at most {limit}",
                    scope["path"],
                    limit=limit,
                )
                # The unread body would have to be drained to keep the connection: close it.
                refused.headers["Connection"] = "close"
                await refused(scope, receive, send)
                return
        received = 0
        looked_up = limit != self.default

        async def counted() -> Message:
            nonlocal received, limit, looked_up
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not looked_up:
                    limit, looked_up = route_limit(scope, self.default), True
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)
