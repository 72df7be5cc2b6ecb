"""What an app's routes say about a path, looked up without dispatching the request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.routing import iter_route_contexts


def _routes_on(app: Any, path: str) -> Iterator[Any]:
    router = getattr(app, "router", None)
    # FastAPI includes routers lazily; its route contexts carry each route's full path.
    for route in iter_route_contexts(getattr(router, "routes", [])):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            yield route


def allowed_methods(app: Any, path: str) -> list[str]:
    """The methods of the resource at ``path`` (RFC 9110 §15.5.6: a 405 lists them).

    When templates overlap (``/requests/preview`` and ``/requests/{request_id}``), the
    resource is the most literal route's: a GET reaching ``{request_id}`` with ``preview``
    is not a method of the preview, as the OpenAPI document says."""
    by_parameters: dict[int, set[str]] = {}
    for route in _routes_on(app, path):
        template = str(getattr(route, "path_format", None) or route.path or "")
        by_parameters.setdefault(template.count("{"), set()).update(route.methods or ())
    return sorted(by_parameters[min(by_parameters)]) if by_parameters else []


def own_body_cap(app: Any, path: str, method: str) -> int | None:
    """The ``max_body_size`` the route taking ``method`` on ``path`` declares, if any."""
    for route in _routes_on(app, path):
        if method in (route.methods or ()):
            cap = getattr(route, "max_body_size", None)
            return cap if isinstance(cap, int) else None
    return None
