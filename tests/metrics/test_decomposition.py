"""KPI achievement per decomposition node: company → city → school, measured from facts.

A school names the channel codes its registrations arrive under; metrics sums their facts from
the plan's start, nets out excluded fraud, and caps each node's payout rate at 200 %.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from services.metrics.kpis import decomposition
from shared.contract.events.planning import DecomposedNode, ObjectiveDecomposedV1
from tests.metrics.helpers import MANAGER, announce, canonical, map_entities, post, register

D = Decimal
DECOMPOSED = "planning.objective.decomposed"
JUNE_FIRST, JUNE_LAST, MID_JUNE = date(2024, 6, 1), date(2024, 6, 30), date(2024, 6, 15)


def _node(
    name: str,
    level: str,
    target: int,
    parent: DecomposedNode | None = None,
    entities: tuple[str, ...] = (),
) -> DecomposedNode:
    return DecomposedNode(
        node_id=uuid.uuid4(),
        parent_id=None if parent is None else parent.node_id,
        name=name,
        level=level,
        target=D(target),
        entities=list(entities),
    )


def _tree() -> list[DecomposedNode]:
    """1,000 registrations: Shanghai 600 (Fudan 300, Tongji 250), Hangzhou 350 (ZJU 350)."""
    company = _node("company", "company", 1000)
    shanghai = _node("Shanghai", "city", 600, company)
    hangzhou = _node("Hangzhou", "city", 350, company)
    return [
        company,
        shanghai,
        _node("Fudan", "school", 300, shanghai, ("SH-FD-01", "SH-FD-02")),
        _node("Tongji", "school", 250, shanghai, ("SH-TJ",)),
        hangzhou,
        _node("Zhejiang U", "school", 350, hangzhou, ("HZ-ZJU",)),
    ]


def _by_name(node: Any, found: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every node of a read tree (dataclass or JSON) by its name."""
    found = {} if found is None else found
    name = node["name"] if isinstance(node, dict) else node.node.name
    found[name] = node
    for child in node["children"] if isinstance(node, dict) else node.children:
        _by_name(child, found)
    return found


# --- the tree arithmetic, without HTTP ---------------------------------------------------------


def test_each_node_sums_its_schools_codes_and_payout_stops_at_200_percent() -> None:
    source = uuid.uuid4()
    sums = {
        (source, "SH-FD-01"): {"registrations": D(600)},
        (source, "SH-FD-02"): {"registrations": D(150)},
        (source, "SH-TJ"): {"registrations": D(125)},
        (source, "HZ-ZJU"): {"registrations": D(175)},
        (source, "GZ-SYSU"): {"registrations": D(999)},  # no node owns it
    }
    root = decomposition.measure(
        _tree(), "registrations", sums, starts_on=JUNE_FIRST, due_on=JUNE_LAST, as_of=MID_JUNE
    )
    nodes = _by_name(root)
    fudan = nodes["Fudan"]
    assert (fudan.actual, fudan.achievement, fudan.payout_rate) == (D(750), D("2.5"), D(2))
    assert (fudan.expected_to_date, fudan.projected_at_due) == (D(150), D(1500))
    assert (nodes["Tongji"].actual, nodes["Tongji"].payout_rate) == (D(125), D("0.5"))
    shanghai = nodes["Shanghai"]
    assert (shanghai.actual, shanghai.achievement) == (D(875), D("1.4583"))
    assert (shanghai.children_target, shanghai.unassigned) == (D(550), D(50))
    assert (root.actual, root.achievement, root.payout_rate) == (D(1050), D("1.05"), D("1.05"))
    assert (root.children_target, root.unassigned, root.expected_to_date) == (D(950), D(50), D(500))
    assert nodes["Fudan"].unassigned is None  # a leaf hands nothing down


def test_a_school_without_codes_is_not_measured_and_one_without_facts_counted_nothing() -> None:
    company = _node("company", "company", 100)
    tracked = _node("tracked", "school", 60, company, ("A-1",))
    untracked = _node("untracked", "school", 40, company)
    root = decomposition.measure(
        [company, tracked, untracked],
        "registrations",
        {},
        starts_on=JUNE_FIRST,
        due_on=JUNE_LAST,
        as_of=MID_JUNE,
    )
    nodes = _by_name(root)
    assert (nodes["tracked"].actual, nodes["tracked"].payout_rate) == (D(0), D(0))
    assert (nodes["untracked"].actual, nodes["untracked"].payout_rate) == (None, None)
    assert nodes["untracked"].expected_to_date == D(20)  # its target still has a pace
    assert root.actual == D(0)


def test_a_ratio_is_the_ratio_of_the_summed_parts_and_its_targets_do_not_add_up() -> None:
    source = uuid.uuid4()
    company = _node("company", "company", 0)
    company = company.model_copy(update={"target": D("0.02")})
    busy = _node("busy", "school", 0, company, ("B",)).model_copy(update={"target": D("0.02")})
    quiet = _node("quiet", "school", 0, company, ("Q",)).model_copy(update={"target": D("0.02")})
    sums = {
        (source, "B"): {"clicks": D(10), "impressions": D(1000)},
        (source, "Q"): {"clicks": D(5), "impressions": D(100)},
    }
    assert decomposition.base_metrics("ctr") == ["clicks", "impressions"]
    root = decomposition.measure(
        [company, busy, quiet], "ctr", sums, starts_on=JUNE_FIRST, due_on=JUNE_LAST, as_of=MID_JUNE
    )
    nodes = _by_name(root)
    assert nodes["busy"].actual == D("0.01")
    assert nodes["quiet"].actual == D("0.05")
    assert (nodes["quiet"].achievement, nodes["quiet"].payout_rate) == (D("2.5"), D(2))
    assert root.actual == D("0.013636")  # 15 / 1,100, not the mean of 0.01 and 0.05
    assert (root.children_target, root.unassigned) == (None, None)


# --- over HTTP, from ingested facts ------------------------------------------------------------


def _decomposed(
    plan_id: uuid.UUID, objective_id: uuid.UUID, nodes: list[DecomposedNode], revision: int
) -> ObjectiveDecomposedV1:
    return ObjectiveDecomposedV1(
        plan_id=plan_id,
        objective_id=objective_id,
        plan_revision=revision,
        metric="registrations",
        starts_on=JUNE_FIRST,
        due_on=JUNE_LAST,
        nodes=nodes,
    )


FACTS = [
    ("SH-FD-01", "2024-06-01", "registrations", "400"),
    ("SH-FD-01", "2024-06-10", "registrations", "200"),
    ("SH-FD-02", "2024-06-12", "registrations", "150"),
    ("SH-TJ", "2024-05-31", "registrations", "999"),  # before the plan starts
    ("SH-TJ", "2024-06-05", "registrations", "100"),
    ("SH-TJ", "2024-06-14", "registrations", "25"),
    ("SH-TJ", "2024-06-14", "clicks", "5000"),  # another metric
    ("HZ-ZJU", "2024-06-03", "registrations", "70"),
    ("HZ-ZJU", "2024-06-08", "registrations", "105"),
    ("HZ-ZJU", "2024-06-20", "registrations", "500"),  # after as_of
    ("GZ-SYSU", "2024-06-09", "registrations", "80"),  # a code no school owns
]


async def _standing(
    client: httpx.AsyncClient, plan_id: uuid.UUID, objective_id: uuid.UUID
) -> dict[str, Any]:
    got = await client.get(
        f"/metrics/plans/{plan_id}/objectives/{objective_id}/decomposition",
        params={"as_of": MID_JUNE.isoformat()},
        headers=MANAGER,
    )
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


async def test_metrics_measures_each_node_from_its_codes_facts_net_of_excluded_fraud(
    metrics_client: httpx.AsyncClient, database_url: str
) -> None:
    plan_id, objective_id = uuid.uuid4(), uuid.uuid4()
    tree = _tree()
    url = f"/metrics/plans/{plan_id}/objectives/{objective_id}/decomposition"
    unknown = await metrics_client.get(url, headers=MANAGER)
    assert unknown.status_code == 404
    # Delivered twice: the inbox keeps one effect.
    await announce(
        metrics_client, database_url, _decomposed(plan_id, objective_id, tree, 3), times=2
    )
    source, secret = await register(metrics_client)
    await map_entities(metrics_client, source, plan_id, *sorted({f[0] for f in FACTS}))
    stored = await post(metrics_client, source, secret, canonical("2024-06-21T02:00:00Z", *FACTS))
    assert stored.status_code == 200, stored.text

    body = await _standing(metrics_client, plan_id, objective_id)
    assert (body["metric"], body["as_of"]) == ("registrations", "2024-06-15")
    assert D(body["payout_cap"]) == D(2)
    nodes = _by_name(body["root"])
    figures = {
        name: (D(n["target"]), D(n["actual"]), D(n["achievement"]), D(n["payout_rate"]))
        for name, n in nodes.items()
    }
    assert figures == {
        "company": (D(1000), D(1050), D("1.05"), D("1.05")),
        "Shanghai": (D(600), D(875), D("1.4583"), D("1.4583")),
        "Fudan": (D(300), D(750), D("2.5"), D(2)),  # 250 % achieved, 200 % paid
        "Tongji": (D(250), D(125), D("0.5"), D("0.5")),
        "Hangzhou": (D(350), D(175), D("0.5"), D("0.5")),
        "Zhejiang U": (D(350), D(175), D("0.5"), D("0.5")),
    }
    assert D(nodes["company"]["expected_to_date"]) == D(500)  # half the month, half the target
    assert D(nodes["company"]["unassigned"]) == D(50)
    assert D(nodes["Shanghai"]["unassigned"]) == D(50)
    assert nodes["Fudan"]["entities"] == ["SH-FD-01", "SH-FD-02"]

    # A reviewer excludes a suspicious ZJU day: it leaves the school, its city and the company.
    excluded = await metrics_client.post(
        f"/metrics/plans/{plan_id}/fraud-flags",
        json={
            "source_id": source,
            "entity": "HZ-ZJU",
            "day": "2024-06-08",
            "reason": "bulk sign-ups from one IP",
            "status": "excluded",
        },
        headers=MANAGER,
    )
    assert excluded.status_code == 201, excluded.text
    nodes = _by_name((await _standing(metrics_client, plan_id, objective_id))["root"])
    assert [D(nodes[n]["actual"]) for n in ("Zhejiang U", "Hangzhou", "company")] == [
        D(70),
        D(70),
        D(945),
    ]
    assert D(nodes["Zhejiang U"]["payout_rate"]) == D("0.2")

    # An older tree arriving late changes nothing; a newer one replaces it.
    older = [n.model_copy(update={"target": D(1)}) if n.parent_id else n for n in tree]
    await announce(metrics_client, database_url, _decomposed(plan_id, objective_id, older, 2))
    newer = [n.model_copy(update={"entities": []}) if n.name == "Tongji" else n for n in tree]
    await announce(metrics_client, database_url, _decomposed(plan_id, objective_id, newer, 4))

    replaced = await _standing(metrics_client, plan_id, objective_id)
    assert replaced["plan_revision"] == 4
    nodes = _by_name(replaced["root"])
    assert D(nodes["Fudan"]["target"]) == D(300)
    assert nodes["Tongji"]["actual"] is None  # no codes any more: not measured
    assert D(nodes["Shanghai"]["actual"]) == D(750)
