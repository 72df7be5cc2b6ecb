"""The people of the story: each calls the API with a role token, minted as the company's
identity provider would, with the development secret."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from demo.harness import until
from shared.contract.types import Role
from shared.kit.settings import Settings
from shared.kit.tokens import mint_token


def token(role: Role, who: str) -> dict[str, str]:
    """A bearer token for one person in one role."""
    return {"Authorization": f"Bearer {mint_token(who, [role], Settings())}"}


class Person(Mapping[str, str]):
    """One person's Authorization header, minted each time it is used.

    Minted with the JWT_SECRET in force at that moment, not at import: a system in production
    mode (Kafka) refuses the development secret, so the caller sets the system's secret first.
    """

    def __init__(self, role: Role, who: str) -> None:
        self.role = role
        self.who = who

    def __getitem__(self, key: str) -> str:
        return token(self.role, self.who)[key]

    def __iter__(self) -> Iterator[str]:
        return iter(("Authorization",))

    def __len__(self) -> int:
        return 1


SPECIALIST = Person(Role.SPECIALIST, "specialist-amy")
SUPERVISOR = Person(Role.SUPERVISOR, "supervisor-wang")
MANAGER = Person(Role.MANAGER, "manager-li")
FINANCE = Person(Role.FINANCE, "finance-zhao")
SALES = Person(Role.SALES, "sales-chen")
TECH = Person(Role.TECH, "data-ops")
ADMIN = Person(Role.ADMIN, "it-admin")


async def decide_all(http: httpx.AsyncClient, kind: str, deciders: list[Person]) -> dict[str, Any]:
    """Each approver finds the request in their inbox and approves their stage."""
    request: dict[str, Any] = {}
    for headers in deciders:

        async def waiting(headers: Person = headers) -> dict[str, Any] | None:
            items = (await http.get("/approvals/inbox", headers=headers)).json()["items"]
            return next((r for r in items if r["kind"] == kind), None)

        request = await until(waiting, f"a {kind} request in the inbox")
        answer = await http.post(
            f"/approvals/requests/{request['id']}/decisions",
            json={"stage": request["current_stage"], "decision": "approve"},
            headers=headers,
        )
        answer.raise_for_status()
        request = answer.json()
    return request
