"""``make demo``: the seed campaign of docs/domain.md played through all five services.

It talks to the system only as its users do: REST with role tokens (minted as the company's
identity provider would, with the development secret) and Standard-Webhooks-signed metric
batches. Without DEMO_BASE_URL it starts the whole system itself on a throw-away embedded
database, plus a local webhook receiver for alert notifications.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn

from demo import seed
from shared.contract.types import Role
from shared.kit.settings import Settings
from shared.kit.tokens import mint_token

T = TypeVar("T")
REPORT = Path(os.environ.get("DEMO_REPORT", "demo-evaluation.html")).resolve()


def say(text: str) -> None:
    """One line of the story."""
    print(text, flush=True)


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


def signed(secret: str, delivery_id: str, body: bytes) -> dict[str, str]:
    """Standard Webhooks headers, as an ad platform computes them."""
    stamp = str(int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{delivery_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "content-type": "application/json",
        "webhook-id": delivery_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }


class Stuck(RuntimeError):
    """Something the story waits for did not happen in time."""


async def until(probe: Callable[[], Awaitable[T | None]], what: str, seconds: float = 30) -> T:
    """Poll until the system has done something asynchronous (events, jobs)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := await probe():
            return result
        await asyncio.sleep(0.2)
    raise Stuck(f"gave up waiting for: {what}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Receiver:
    """A team's webhook endpoint: records every alert notification."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.received.extend(json.loads(body or b"{}").get("notifications", []))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def serving(app: Any, port: int) -> Iterator[None]:
    """Run an ASGI app under uvicorn in a thread until the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit("a demo server failed to start")
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def system() -> Iterator[str]:
    """The base URL of a running system: DEMO_BASE_URL, or one started here."""
    if configured := os.environ.get("DEMO_BASE_URL"):
        yield configured
        return
    from allinone.app import create_allinone_app
    from shared.kit.embedded_pg import embedded_database_url, stop_server

    data_dir = Path(tempfile.mkdtemp(prefix="cp-demo-pg-"))
    try:
        settings = Settings(
            database_url=embedded_database_url(data_dir), relay_idle_poll_seconds=0.1
        )
        app, _root = create_allinone_app(settings)
        port = _free_port()
        with serving(app, port):
            yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(data_dir)


async def put(
    http: httpx.AsyncClient, plan: dict[str, Any], section: str, body: Any
) -> dict[str, Any]:
    """Replace a plan section with If-Match."""
    answer = await http.put(
        f"/planning/plans/{plan['plan']['id']}/{section}",
        json=body,
        headers={**SPECIALIST, "If-Match": f'"{plan["plan"]["revision"]}"'},
    )
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


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


async def play(base: str, receiver_url: str, receiver: Receiver) -> dict[str, Any]:
    """The seed campaign, step by step; returns the ids and figures it ended with."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        say("1. A specialist drafts the 618 campaign: objectives, audience, channels, phases.")
        created = await http.post("/planning/plans", json=seed.PLAN, headers=SPECIALIST)
        created.raise_for_status()
        plan = created.json()
        plan_id = plan["plan"]["id"]
        plan = await put(http, plan, "objectives", [*seed.OBJECTIVES, seed.ROI_OBJECTIVE])
        plan = await put(http, plan, "audience", seed.AUDIENCE)
        plan = await put(http, plan, "channels", seed.CHANNELS)
        plan = await put(http, plan, "phases", seed.PHASES)
        channels = {c["name"]: c["id"] for c in plan["channels"]}
        plan = await put(http, plan, "budget", seed.budget(list(channels.values())))
        plan = await put(http, plan, "risks", seed.RISKS)
        say(
            f"   budget {plan['total_budget']} CNY, "
            f"reserve {plan['plan']['contingency_reserve']}"
            f" ({float(plan['reserve_share']):.1%})"
        )

        async def tasks_know_plan() -> bool:
            return (
                await http.get(f"/tasks/plans/{plan_id}", headers=SPECIALIST)
            ).status_code == 200

        await until(tasks_know_plan, "the tasks service to learn the plan")
        for row in seed.WBS:
            (
                await http.post(f"/tasks/plans/{plan_id}/tasks", json=row, headers=SPECIALIST)
            ).raise_for_status()
        schedule = (await http.get(f"/tasks/plans/{plan_id}/schedule", headers=SPECIALIST)).json()
        say(f"   tasks M-001…M-004 created; critical path {' → '.join(schedule['critical_path'])}")

        say("2. Submitted; supervisor, manager and finance approve it from their inboxes.")
        (
            await http.post(f"/planning/plans/{plan_id}/submit", headers=SPECIALIST)
        ).raise_for_status()
        await decide_all(http, "plan", [SUPERVISOR, MANAGER, FINANCE])

        async def approved() -> dict[str, Any] | None:
            detail: dict[str, Any] = (
                await http.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)
            ).json()
            return detail if detail["plan"]["status"] == "approved" else None

        plan = await until(approved, "the plan to be approved")
        (
            await http.post(f"/planning/plans/{plan_id}/activate", headers=SPECIALIST)
        ).raise_for_status()

        async def default_rules() -> list[dict[str, Any]] | None:
            rules: list[dict[str, Any]] = (
                await http.get("/alerts/rules", params={"plan_id": plan_id}, headers=SPECIALIST)
            ).json()["items"]
            return rules or None

        rules = await until(default_rules, "default alert rules")
        say(f"   approved and active; {len(rules)} default alert rules made from its targets")

        (
            await http.put(
                "/alerts/channels/team",
                json={
                    "url": receiver_url,
                    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                    # The demo's team wants every change at once, not batched over minutes.
                    "group_wait_seconds": 0,
                    "group_interval_seconds": 1,
                },
                headers=ADMIN,
            )
        ).raise_for_status()
        feed = channels["Douyin feed ads"]
        rule = await http.post(
            "/alerts/rules",
            headers=SPECIALIST,
            json={
                "name": "feed-ad CTR below 1.5%",
                "kind": "threshold",
                "plan_id": plan_id,
                "channel_id": feed,
                "metric": "ctr",
                "threshold": "0.015",
                "recovery": "0.015",
                "min_sample": 1000,
                "severity": "warning",
                "channels": ["team"],
                "follow_up": {
                    "title": "new key visual with pain-point scenes",
                    "owner_id": "optimiser-he",
                    "approver_id": "supervisor-wang",
                    "due_in_days": 1,
                },
            },
        )
        rule.raise_for_status()

        say("3. The ad platform posts two weeks of signed daily metrics (a restated day, a retry).")
        source = (
            await http.post(
                "/metrics/sources",
                headers=TECH,
                json={"name": "Douyin ads", "platform": "ocean_engine", "account_id": "1790"},
            )
        ).json()
        secret = source["secrets"][0]["secret"]
        (
            await http.put(
                f"/metrics/sources/{source['id']}/mappings",
                headers=TECH,
                json=[{"entity": "feed", "plan_id": plan_id, "channel_id": feed}],
            )
        ).raise_for_status()

        async def post_days(
            delivery: str, days: list[tuple[date, int, int]], report_time: str
        ) -> dict[str, Any]:
            rows = [
                {
                    "campaign_id": "feed",
                    "stat_datetime": f"{d.isoformat()} 00:00:00",
                    "show_cnt": shows,
                    "click_cnt": clicks,
                    "convert_cnt": clicks // 20,
                    "stat_cost": f"{shows * 0.02:.2f}",
                }
                for d, shows, clicks in days
            ]
            body = json.dumps(
                {"format": "ocean_engine", "report_time": report_time, "rows": rows}
            ).encode()
            answer = await http.post(
                f"/metrics/webhooks/{source['id']}",
                content=body,
                headers=signed(secret, delivery, body),
            )
            answer.raise_for_status()
            result: dict[str, Any] = answer.json()
            return result

        start = date(2024, 5, 24)
        fortnight = [(start + timedelta(days=n), 100_000, 1_800) for n in range(14)]
        first = await post_days("dy-0001", fortnight, "2024-06-07T09:00:00Z")
        again = await post_days("dy-0001", fortnight, "2024-06-07T09:00:00Z")
        restated = await post_days(
            "dy-0002", [(start + timedelta(days=13), 100_000, 1_750)], "2024-06-08T09:00:00Z"
        )
        say(
            f"   {first['facts']} facts stored; the duplicate delivery answered the same "
            f"({again == first}); the restated day revised {restated['revised']} facts"
        )

        say("4. On 06-07 feed-ad CTR falls to 1.2% against 1.5%.")
        await post_days("dy-0003", [(date(2024, 6, 7), 100_000, 1_200)], "2024-06-08T10:00:00Z")

        async def firing() -> dict[str, Any] | None:
            alerts = (
                await http.get(
                    "/alerts/alerts",
                    params={"plan_id": plan_id, "state": "firing"},
                    headers=SPECIALIST,
                )
            ).json()["items"]
            return next((a for a in alerts if a["rule_id"] == rule.json()["id"]), None)

        alert = await until(firing, "the CTR alert")
        await until(lambda: _true(bool(receiver.received)), "the team's webhook to be notified")
        say(
            f"   warning raised: {alert['summary']}; "
            f"the team's webhook got {receiver.received[0]['kind']!r}"
        )

        async def follow_up() -> dict[str, Any] | None:
            tasks = (await http.get(f"/tasks/plans/{plan_id}/tasks", headers=SPECIALIST)).json()[
                "items"
            ]
            return next((t for t in tasks if t["alert_id"] == alert["id"]), None)

        task = await until(follow_up, "the rapid-response task")
        say(
            f"   rapid-response task {task['code']} '{task['name']}' "
            f"for {task['owner_id']}, due {task['ends_on']}"
        )

        say("5. Budget moves from the pop-up store to feed ads; the committee approves it.")
        lines = {line["name"]: line["id"] for line in plan["budget"]}
        (
            await http.post(
                f"/planning/plans/{plan_id}/adjustments",
                headers=SPECIALIST,
                json={
                    "kind": "budget_reallocation",
                    "reason": "pop-up converts poorly; feed ads convert well",
                    "moves": [
                        {
                            "from_budget_line_id": lines["offline events"],
                            "to_budget_line_id": lines["feed ads"],
                            "amount": "100000.00",
                        }
                    ],
                },
            )
        ).raise_for_status()
        await decide_all(http, "adjustment", [MANAGER, SALES, FINANCE])

        async def version_two() -> dict[str, Any] | None:
            detail: dict[str, Any] = (
                await http.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)
            ).json()
            return detail if detail["plan"]["version"] == 2 else None

        plan = await until(version_two, "plan version 2")
        changes = (
            await http.get(f"/planning/plans/{plan_id}/versions/2/changes", headers=SPECIALIST)
        ).json()
        say(
            f"   plan version 2: {len(changes['changes'])} changes, feed ads now "
            f"{next(b['planned'] for b in plan['budget'] if b['name'] == 'feed ads')} CNY"
        )

        say("6. New creatives: CTR recovers to 1.6% on 06-08.")
        await post_days("dy-0004", [(date(2024, 6, 8), 100_000, 1_600)], "2024-06-09T10:00:00Z")

        async def resolved() -> dict[str, Any] | None:
            found: dict[str, Any] = (
                await http.get(f"/alerts/alerts/{alert['id']}", headers=SPECIALIST)
            ).json()
            return found if found["state"] == "resolved" else None

        await until(resolved, "the alert to resolve")
        await until(
            lambda: _true(any(n["kind"] == "resolved" for n in receiver.received)),
            "the resolution notice",
        )
        say("   the alert resolved and the team's webhook was told")

        say("7. The campaign completes: evaluation and retrospective.")
        internal = (
            await http.post(
                "/metrics/sources",
                headers=TECH,
                json={"name": "user back end", "platform": "internal", "account_id": "crm"},
            )
        ).json()
        (
            await http.put(
                f"/metrics/sources/{internal['id']}/mappings",
                headers=TECH,
                json=[{"entity": "all", "plan_id": plan_id}],
            )
        ).raise_for_status()
        totals = {
            "format": "canonical",
            "report_time": "2024-07-01T09:00:00Z",
            "rows": [
                {
                    "entity": "all",
                    "day": "2024-06-30",
                    "metric": "registrations",
                    "value": "180000",
                },
                {"entity": "all", "day": "2024-06-18", "metric": "gmv", "value": "6200000"},
                # with the feed's 32,000 reported earlier: 1,192,307.69 in all, ROI 1:5.2
                {"entity": "all", "day": "2024-06-18", "metric": "cost", "value": "1160307.69"},
                {
                    "entity": "all",
                    "day": "2024-07-15",
                    "metric": "brand_search_index",
                    "value": "1450",
                },
            ],
        }
        body = json.dumps(totals).encode()
        (
            await http.post(
                f"/metrics/webhooks/{internal['id']}",
                content=body,
                headers=signed(internal["secrets"][0]["secret"], "crm-0001", body),
            )
        ).raise_for_status()
        for step in ("complete",):
            (
                await http.post(f"/planning/plans/{plan_id}/{step}", headers=SPECIALIST)
            ).raise_for_status()
        report = (
            await http.get(
                f"/metrics/plans/{plan_id}/evaluation",
                params={"as_of": "2024-07-31"},
                headers=MANAGER,
            )
        ).json()
        say(f"   {'dimension':<20} {'metric':<31} {'target':<12} {'actual':<12} achievement")
        for row in report["rows"]:
            say(
                f"   {row['dimension']:<20} {row['metric']:<31} {row['target']:<12} "
                f"{row['actual'] or '-':<12} "
                f"{row['achievement'] or '-'}"
            )
        written = {}
        for suffix, lang, form in (
            (".html", "zh-CN", "html"),
            ("-en.html", "en", "html"),
            (".xlsx", "zh-CN", "xlsx"),
        ):
            answer = await http.get(
                f"/metrics/plans/{plan_id}/evaluation.{form}",
                params={"as_of": "2024-07-31", "lang": lang},
                headers=MANAGER,
            )
            answer.raise_for_status()
            path = REPORT.with_name(REPORT.stem + suffix)
            path.write_bytes(answer.content)
            written[suffix] = path
        detail = (await http.get(f"/planning/plans/{plan_id}", headers=SPECIALIST)).json()
        filed = await http.put(
            f"/planning/plans/{plan_id}/retrospective",
            json=seed.RETROSPECTIVE,
            headers={**SPECIALIST, "If-Match": f'"{detail["plan"]["revision"]}"'},
        )
        filed.raise_for_status()
        say(f"   retrospective filed: '{seed.RETROSPECTIVE[0]['fell_short']}'")
        say("")
        if os.environ.get("DEMO_BASE_URL"):
            say(f"API docs: {base}/<service>/docs (planning, tasks, metrics, alerts, approvals)")
        else:
            say("To explore: `make run`, then http://127.0.0.1:8000/<service>/docs")
        say(f"English report: {written['-en.html']}; spreadsheet: {written['.xlsx']}")
        say(f"Done. The evaluation report (zh-CN) is {written['.html']}")
        return {"plan_id": plan_id, "alert_id": alert["id"], "task": task, "evaluation": report}


async def _true(value: bool) -> bool | None:
    return value or None


def main() -> int:
    """Run the story once (a new plan every time)."""
    started = time.monotonic()
    receiver = Receiver()
    receiver_port = _free_port()
    with serving(receiver, receiver_port), system() as base:
        try:
            asyncio.run(play(base, f"http://127.0.0.1:{receiver_port}/hook", receiver))
        except Stuck as exc:
            say(f"The demo stopped: {exc}")
            return 1
    say(f"({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
