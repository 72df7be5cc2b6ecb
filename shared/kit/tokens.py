"""Development tokens: ``python -m shared.kit.tokens --role supervisor --sub alice``.

Kept apart from the request-time auth code so that `make token` imports only pyjwt and the
settings, not FastAPI and SQLAlchemy: a token a second was too slow to paste into curl.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import jwt

from shared.contract.types import Role
from shared.kit.settings import Settings, get_settings


def mint_token(
    subject: str, roles: list[Role], settings: Settings, *, ttl: timedelta = timedelta(hours=12)
) -> str:
    """A signed token for development and tests (production tokens come from the company IdP)."""
    now = datetime.now(UTC)
    claims = {
        "sub": subject,
        "roles": [r.value for r in roles],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=settings.jwt_algorithms[0])


def main(argv: list[str] | None = None) -> None:
    """CLI: print a development token for one or more roles."""
    parser = argparse.ArgumentParser(prog="python -m shared.kit.tokens")
    parser.add_argument("--role", action="append", choices=[r.value for r in Role], required=True)
    parser.add_argument("--sub", default="dev-user")
    args = parser.parse_args(argv)
    print(mint_token(args.sub, [Role(r) for r in args.role], get_settings()))


if __name__ == "__main__":
    main()
