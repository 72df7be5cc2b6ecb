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
    """Every method some route of ``app`` answers on ``path`` (HEAD comes with GET)."""
    methods: set[str] = set()
    for route in _routes_on(app, path):
        methods |= set(route.methods or ())
    return sorted(methods)


def own_body_cap(app: Any, path: str, method: str) -> int | None:
    """The ``max_body_size`` the route taking ``method`` on ``path`` declares, if any."""
    for route in _routes_on(app, path):
        if method in (route.methods or ()):
            cap = getattr(route, "max_body_size", None)
            return cap if isinstance(cap, int) else None
    return None
