"""The docs/domain.md tables (§1, §2, §4, §7) as API payloads, for the demo and the tests."""

from __future__ import annotations

from typing import Any

PLAN: dict[str, Any] = {
    "name": "618 serum launch",
    "product": "repair serum",
    "starts_on": "2024-05-01",
    "ends_on": "2024-07-31",
    "owner_id": "manager-li",
    "departments": ["marketing", "product", "design", "e-commerce"],
    "contingency_reserve": "120000.00",
}

OBJECTIVES: list[dict[str, Any]] = [
    {
        "type": "user_growth",
        "core_strategy": "Xiaohongshu KOC seeding + Douyin feed ads",
        "metric": "registrations",
        "target_kind": "absolute",
        "target_value": "200000",
        "owner_id": "manager-li",
        "due_on": "2024-06-30",
        "notes": "needs product dept to simplify sign-up",
    },
    {
        "type": "brand_awareness",
        "core_strategy": "trade-media interviews + offline pop-up store",
        "metric": "brand_search_index",
        "target_kind": "relative",
        "target_value": "30",
        "baseline_value": "1000",
        "owner_id": "supervisor-wang",
        "due_on": "2024-07-15",
        "notes": "budget 150,000; design dept makes materials",
    },
    {
        "type": "sales_conversion",
        "core_strategy": "e-commerce discounts + community referral",
        "metric": "gmv",
        "target_kind": "absolute",
        "target_value": "5000000",
        "owner_id": "specialist-amy",
        "due_on": "2024-06-18",
        "notes": "e-commerce dept builds the landing page",
    },
]

# The seed's fourth evaluation row (§6: ROI 1:4 → 1:5.2). Kept apart from OBJECTIVES, which
# is the §1 objectives table the planning tests enter as written; the demo adds it.
ROI_OBJECTIVE: dict[str, Any] = {
    "type": "cost_efficiency",
    "core_strategy": "offline pop-up store in Shanghai and Hangzhou",
    "metric": "roi",
    "target_kind": "absolute",
    "target_value": "4",
    "owner_id": "manager-li",
    "due_on": "2024-07-31",
    "notes": "GMV over the whole campaign cost",
}

AUDIENCE: list[dict[str, Any]] = [
    {
        "name": "young urban professionals",
        "age_band": "22-35",
        "gender": "female",
        "regions": ["Shanghai", "Hangzhou"],
        "occupations": ["office worker"],
        "interests": ["skincare", "beauty"],
        "habits": ["shops on Tmall", "reads Xiaohongshu daily"],
    }
]

CHANNELS: list[dict[str, Any]] = [
    {
        "channel_type": "kol_koc",
        "name": "Xiaohongshu KOC",
        "budget_share": "0.3",
        "expected_reach": 2000000,
        "expected_cost": "150000.00",
    },
    {
        "channel_type": "in_feed",
        "name": "Douyin feed ads",
        "budget_share": "0.2",
        "expected_reach": 5000000,
        "expected_cost": "350000.00",
    },
    {"channel_type": "pop_up", "name": "Pop-up store", "budget_share": "0.3"},
    {"channel_type": "e_commerce", "name": "Tmall store", "budget_share": "0.2"},
]


def budget(channel_ids: list[str]) -> list[dict[str, Any]]:
    """docs/domain.md §2: 1,000,000 = online ads 500,000 + events 300,000 + materials 200,000."""
    koc, feed, popup, _shop = channel_ids
    return [
        {"name": "KOC fees", "channel_id": koc, "cost_type": "channel_fee", "planned": "120000.00"},
        {
            "name": "feed ads",
            "channel_id": feed,
            "cost_type": "channel_fee",
            "planned": "380000.00",
        },
        {
            "name": "offline events",
            "channel_id": popup,
            "cost_type": "venue",
            "planned": "300000.00",
        },
        {"name": "materials", "cost_type": "materials", "planned": "200000.00"},
    ]


PHASES: list[dict[str, Any]] = [
    {
        "kind": "preparation",
        "name": "preparation",
        "starts_on": "2024-05-01",
        "ends_on": "2024-05-10",
        "core_action": "KOC screening and contracts",
        "owner_id": "specialist-amy",
        "resources": "quotes, contract template",
        "risk": "quotes over budget",
        "countermeasure": "prefer mid-tier KOCs",
    },
    {
        "kind": "warm_up",
        "name": "warm-up",
        "starts_on": "2024-06-01",
        "ends_on": "2024-06-05",
        "core_action": "first 5 KOC posts",
        "owner_id": "specialist-amy",
        "resources": "final assets, accounts",
        "risk": "platform rejects content",
        "countermeasure": "submit 3 days early",
    },
    {
        "kind": "peak",
        "name": "peak",
        "starts_on": "2024-06-06",
        "ends_on": "2024-06-15",
        "core_action": "all KOC posts + feed ads",
        "owner_id": "promotion-manager",
        "resources": "5 posts, ad budget 100,000",
        "risk": "CTR below 1.5%",
        "countermeasure": "swap creatives, retarget",
    },
    {
        "kind": "wrap_up",
        "name": "wrap-up",
        "starts_on": "2024-06-16",
        "ends_on": "2024-06-20",
        "core_action": "data collection, first evaluation",
        "owner_id": "data-specialist",
        "resources": "data access",
        "risk": "data arrives late",
        "countermeasure": "pull data daily at 17:00",
    },
]

RISKS: list[dict[str, Any]] = [
    {
        "title": "platform rejects content for medical claims",
        "category": "legal",
        "likelihood": 3,
        "impact": 3,
        "response": "reduce",
        "owner_id": "copywriter",
        "due_on": "2024-05-25",
        "status": "open",
    },
    {
        "title": "KOC quotes over budget",
        "category": "financial",
        "likelihood": 4,
        "impact": 4,
        "response": "reduce",
        "owner_id": "specialist-amy",
        "due_on": "2024-05-10",
        "status": "open",
        "contingency_plan": "switch to mid-tier KOCs from the shortlist",
    },
]

RETROSPECTIVE: list[dict[str, Any]] = [
    {
        "stage": "whole campaign",
        "what_worked": "KOC + feed ads combined well",
        "fell_short": "pop-up footfall forecast far off",
        "root_cause": "mall's historical footfall not used",
        "measure": "survey venue footfall before next event",
        "owner_id": "manager-li",
        "due_on": "2024-07-15",
    },
]

OWNERS = {"specialist": "specialist-amy", "copywriter": "copywriter-lu", "designer": "designer-ma"}

# docs/domain.md §3: the WBS of the Xiaohongshu seeding strategy.
WBS: list[dict[str, Any]] = [
    {
        "code": "M-001",
        "name": "KOC screening",
        "description": "pick 20 beauty KOCs (≥50k followers)",
        "strategy": "Xiaohongshu seeding",
        "owner_id": OWNERS["specialist"],
        "approver_id": "supervisor-wang",
        "starts_on": "2024-05-01",
        "ends_on": "2024-05-10",
        "deliverable": "KOC list and quotes",
        "priority": "high",
    },
    {
        "code": "M-002",
        "name": "content planning",
        "description": "10 selling points and angles",
        "strategy": "Xiaohongshu seeding",
        "owner_id": OWNERS["copywriter"],
        "approver_id": "supervisor-wang",
        "starts_on": "2024-05-11",
        "ends_on": "2024-05-15",
        "deliverable": "content plan",
        "support": ["design"],
        "priority": "high",
    },
    {
        "code": "M-003",
        "name": "asset production",
        "description": "10 posts + 5 short videos",
        "strategy": "Xiaohongshu seeding",
        "owner_id": OWNERS["designer"],
        "approver_id": "supervisor-wang",
        "starts_on": "2024-05-16",
        "ends_on": "2024-05-25",
        "deliverable": "final assets",
        "prerequisites": [{"code": "M-002"}],
        "support": ["copy"],
        "priority": "high",
    },
    {
        "code": "M-004",
        "name": "publishing schedule",
        "description": "KOC posting calendar 06-01 – 06-15",
        "strategy": "Xiaohongshu seeding",
        "owner_id": OWNERS["specialist"],
        "approver_id": "supervisor-wang",
        "starts_on": "2024-05-26",
        "ends_on": "2024-05-30",
        "deliverable": "schedule",
        "prerequisites": [{"code": "M-001"}, {"code": "M-003"}],
        "priority": "medium",
    },
]
