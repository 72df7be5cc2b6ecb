"""Bearer JWT authentication with roles (development tokens are minted in shared.kit.tokens)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from shared.contract.types import Role
from shared.kit.errors import Forbidden, Unauthenticated
from shared.kit.settings import Settings, get_settings
from shared.kit.tokens import mint_token as mint_token  # re-exported for callers of auth

_bearer = HTTPBearer(auto_error=False, description="JWT issued for this deployment")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    subject: str
    roles: frozenset[Role]

    def has_any(self, roles: frozenset[Role]) -> bool:
        """True when the caller holds at least one of these roles (admin holds all)."""
        return Role.ADMIN in self.roles or bool(self.roles & roles)


def decode_token(token: str, settings: Settings) -> Principal:
    """Verify signature, algorithm, exp, iss and aud; anything off is Unauthenticated."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=settings.jwt_algorithms,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from exc
    claimed = claims.get("roles", [])
    if not isinstance(claimed, list) or not all(isinstance(r, str) for r in claimed):
        raise Unauthenticated("invalid token: roles must be a list of role names")
    try:
        roles = frozenset(Role(r) for r in claimed)
    except ValueError as exc:
        raise Unauthenticated(f"invalid token: unknown role ({exc})") from exc
    return Principal(subject=str(claims["sub"]), roles=roles)


async def current_principal(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller from the Authorization header, or 401."""
    if credentials is None:
        raise Unauthenticated("missing bearer token")
    principal = decode_token(credentials.credentials, get_settings())
    if Role.SERVICE in principal.roles:
        # A machine's token opens only what is bound to its subject (see ``bearer_principal``).
        raise Forbidden("a service token may not call this route")
    return principal


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency admitting callers with any of ``roles`` (or admin); others get 403."""
    allowed = frozenset(roles)

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has_any(allowed):
            names = ", ".join(sorted(r.value for r in allowed | {Role.ADMIN}))
            raise Forbidden(f"this action needs one of the roles: {names}")
        return principal

    return dependency


Authenticated = Annotated[Principal, Depends(current_principal)]
Operator = Annotated[Principal, Depends(require(Role.TECH))]


def bearer_principal(authorization: str | None, settings: Settings) -> Principal:
    """The caller of an ``Authorization: Bearer`` header value, whatever its roles, or 401.

    For routes that bind a token to something of their own (a metrics source to the service
    token subjects allowed to post to it) instead of admitting roles."""
    scheme, token = get_authorization_scheme_param(authorization)
    if not authorization or scheme.lower() != "bearer" or not token:
        raise Unauthenticated("missing bearer token")
    return decode_token(token, settings)
