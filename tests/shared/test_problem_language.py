"""Problems in the reader's language: title, detail and field messages follow Accept-Language
(q-values count), else the company's language; type, field names, codes and rules never change."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from allinone.app import create_allinone_app
from shared.contract.types import Role
from shared.kit.settings import Settings
from tests.conftest import bearer
from tests.planning.helpers import SPECIALIST, seeded_plan

CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}


async def both(
    client: httpx.AsyncClient, method: str, url: str, **kwargs: object
) -> tuple[httpx.Response, httpx.Response]:
    """The same request asked in English and in Chinese."""
    headers = kwargs.pop("headers", {})
    assert isinstance(headers, dict)
    answers = [
        await client.request(method, url, headers={**headers, **language}, **kwargs)  # type: ignore[arg-type]
        for language in (ENGLISH, CHINESE)
    ]
    english, chinese = answers
    assert english.headers["content-language"] == "en"
    assert chinese.headers["content-language"] == "zh-CN"
    assert "Accept-Language" in chinese.headers["vary"]
    assert english.json()["type"] == chinese.json()["type"]
    return english, chinese


async def test_a_validation_problem_in_both_languages(client: httpx.AsyncClient) -> None:
    english, chinese = await both(
        client, "POST", "/planning/plans", json={"name": "x"}, headers=SPECIALIST
    )
    assert english.status_code == chinese.status_code == 422
    en, zh = english.json(), chinese.json()
    assert (en["title"], zh["title"]) == ("Invalid request", "请求无效")
    assert en["detail"].startswith("Invalid input: ")
    # The field names inside the detail stay as the API spells them.
    assert zh["detail"] == "输入无效：" + en["detail"].removeprefix("Invalid input: ")
    assert [e["field"] for e in en["errors"]] == [e["field"] for e in zh["errors"]]
    assert [e["code"] for e in en["errors"]] == [e["code"] for e in zh["errors"]]
    missing = [e for e in zh["errors"] if e["code"] == "missing"]
    assert missing
    assert {e["message"] for e in missing} == {"缺少必填字段"}
    assert {e["message"] for e in en["errors"] if e["code"] == "missing"} == {"Field required"}


async def test_a_pydantic_bound_is_translated_with_its_number(client: httpx.AsyncClient) -> None:
    english, chinese = await both(
        client, "GET", "/planning/plans", params={"limit": 0}, headers=SPECIALIST
    )
    assert english.status_code == 422
    en_limit = next(e for e in english.json()["errors"] if e["field"] == "query.limit")
    zh_limit = next(e for e in chinese.json()["errors"] if e["field"] == "query.limit")
    assert en_limit["message"] == "Input should be greater than or equal to 1"
    assert zh_limit["message"] == "应大于或等于 1"


async def test_a_not_found_in_both_languages(client: httpx.AsyncClient) -> None:
    plan_id = uuid.UUID("3f2c9a1e-0000-4000-8000-000000000001")
    english, chinese = await both(client, "GET", f"/planning/plans/{plan_id}", headers=SPECIALIST)
    assert english.status_code == 404
    assert (english.json()["title"], chinese.json()["title"]) == ("Not found", "未找到")
    # The id is carried over untouched into the translated sentence.
    assert english.json()["detail"] == f"no plan {plan_id}"
    assert chinese.json()["detail"] == f"没有计划 {plan_id}"


async def test_a_conflict_in_both_languages(client: httpx.AsyncClient) -> None:
    plan_id = (await seeded_plan(client))["plan"]["id"]
    submitted = await client.post(f"/planning/plans/{plan_id}/submit", headers=SPECIALIST)
    assert submitted.status_code == 200, submitted.text
    english, chinese = await both(
        client, "PATCH", f"/planning/plans/{plan_id}", json={"name": "x"}, headers=SPECIALIST
    )
    assert english.status_code == chinese.status_code == 409
    en, zh = english.json(), chinese.json()
    assert (en["title"], zh["title"]) == ("Conflict", "与当前状态冲突")
    assert en["detail"] == "a submitted plan changes only through an adjustment"
    assert zh["detail"] == "状态为 submitted 的计划只能通过调整单变更"
    assert en["rule"] == zh["rule"] == "editable-status"


async def test_unauthenticated_and_forbidden_in_both_languages(
    client: httpx.AsyncClient,
) -> None:
    english, chinese = await both(client, "GET", "/planning/plans")
    assert english.status_code == 401
    assert (english.json()["title"], chinese.json()["title"]) == (
        "Authentication required",
        "需要身份认证",
    )
    assert (english.json()["detail"], chinese.json()["detail"]) == (
        "missing bearer token",
        "缺少 Bearer 令牌",
    )
    assert chinese.headers["www-authenticate"] == "Bearer"

    english, chinese = await both(
        client, "POST", "/planning/plans", json={}, headers=bearer(Role.SALES)
    )
    assert english.status_code == 403
    assert (english.json()["title"], chinese.json()["title"]) == ("Forbidden", "无权执行此操作")
    roles = english.json()["detail"].removeprefix("this action needs one of the roles: ")
    assert chinese.json()["detail"] == f"此操作需要以下角色之一：{roles}"


async def test_q_values_decide_and_unknown_languages_fall_through(
    client: httpx.AsyncClient,
) -> None:
    url = "/planning/plans"
    preferred = await client.get(url, headers={"Accept-Language": "en;q=0.3, zh-CN;q=0.8"})
    assert preferred.json()["title"] == "需要身份认证"
    unknown_first = await client.get(url, headers={"Accept-Language": "fr, en;q=0.5"})
    assert unknown_first.json()["title"] == "Authentication required"
    # No preference: the company's language (zh-CN unless configured otherwise).
    none = await client.get(url, headers={"Accept-Language": ""})
    assert none.headers["content-language"] == "zh-CN"
    assert none.json()["title"] == "需要身份认证"


@pytest.fixture
async def english_company(
    settings: Settings, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The all-in-one app of a company whose language is English, asked with no preference."""
    app, root = create_allinone_app(
        settings.model_copy(update={"company_language": "en"}), database_url=database_url
    )
    async with root.router.lifespan_context(root):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def test_the_company_language_is_the_default(english_company: httpx.AsyncClient) -> None:
    answer = await english_company.get("/planning/plans")
    assert answer.headers["content-language"] == "en"
    assert answer.json()["title"] == "Authentication required"
    asked = await english_company.get("/planning/plans", headers={"Accept-Language": "zh"})
    assert asked.json()["detail"] == "缺少 Bearer 令牌"
