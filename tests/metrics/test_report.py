"""The evaluation report a marketing director presents: every column filled from the facts, in
zh-CN and English, all channels with their currency, exported as CSV and XLSX."""

from __future__ import annotations

import csv
import html
import io
from datetime import date

import httpx
import openpyxl
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.metrics.helpers import MANAGER, canonical, post
from tests.metrics.report_seed import customers_and_experiments, seeded

AS_OF = {"as_of": "2024-06-30"}
Sessions = async_sessionmaker[AsyncSession]


async def test_the_report_in_chinese_fills_every_column_from_the_facts(
    metrics_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan_id = (await seeded(sessions)).plan_id
    page = await metrics_client.get(
        f"/metrics/plans/{plan_id}/evaluation.html",
        params={**AS_OF, "lang": "zh-CN"},
        headers=MANAGER,
    )
    assert page.status_code == 200
    assert page.headers["content-language"] == "zh-CN"
    text = page.text
    assert "<html lang='zh-CN'>" in text
    assert "效果评估：618 serum launch" in text
    assert "数据截至2024年6月30日" in text
    # period before: 180,000 against 120,000 in 1 March – 30 April
    assert "120,000（2024年3月1日至2024年4月30日）" in text
    assert "较上一周期（2024年3月1日至2024年4月30日）上升 50%。" in text
    # feed 100,000 of 180,000 registrations
    assert "Douyin feed ads 贡献了其中的 56%。" in text
    # 90 % achieved: budget from the lower-ROI channel (3.4) to the higher (6.5)
    assert "未达目标：建议将预算从 Baidu search 调往 Douyin feed ads。" in text
    assert "第1版：250,000（达成率 72%）" in text
    assert "Douyin feed ads 表现最好（1:6.5）；Baidu search 未达预期（1:3.4）。" in text
    # money in the plan currency; the channel the budget moved away from is still there
    assert "¥692,307.69" in text
    assert "已调出计划" in text
    assert "¥1,192,307.69" in text  # the channels' total spend
    assert "-¥192,307.69" in text  # feed: 500,000 planned, 692,307.69 spent
    for metric in ("新注册用户", "活动GMV", "品牌关键词搜索量", "投资回报率"):
        assert metric in text
    # the tree: Fudan 100,000 of 40,000 is 250 %, paid at the 200 % cap; Tongji 50 %
    assert "绩效发放比例即达成率，封顶 200%。" in text
    fudan = text[text.index("Fudan") :]
    assert fudan.index("250%") < fudan.index("200%") < fudan.index("Tongji")
    assert "大区" in text
    assert text.count("<svg") == 6  # achievement, four trends, funnel
    assert text.count("<desc") == 6


async def test_the_report_in_english_by_accept_language(
    metrics_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan_id = (await seeded(sessions)).plan_id
    page = await metrics_client.get(
        f"/metrics/plans/{plan_id}/evaluation.html",
        params=AS_OF,
        headers={**MANAGER, "Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"},
    )
    text = page.text
    assert page.headers["content-language"] == "en"
    assert "Up 50% on the period before (March 1, 2024 to April 30, 2024)." in text
    assert "Douyin feed ads carried 56% of it." in text
    assert "Douyin feed ads did best (1:6.5); Baidu search missed (1:3.4)." in text
    assert "Behind target: move budget from Baidu search to Douyin feed ads." in text
    assert "Behind the pace to date (200,000 expected by now)." in text
    assert "CN¥692,307.69" in text
    assert "moved out of the plan" in text
    # CAC: feed 692,307.69 / 100,000; search 500,000 / 80,000
    assert "CN¥6.92" in text
    assert "CN¥6.25" in text
    # every objective has a source: the facts' source named
    assert text.count("internal account") >= 4


async def test_without_a_language_the_company_language_is_used(
    metrics_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan_id = (await seeded(sessions)).plan_id
    page = await metrics_client.get(
        f"/metrics/plans/{plan_id}/evaluation.html",
        params=AS_OF,
        headers={**MANAGER, "Accept-Language": ""},
    )
    assert page.headers["content-language"] == "zh-CN"
    bad = await metrics_client.get(
        f"/metrics/plans/{plan_id}/evaluation.html",
        params={**AS_OF, "lang": "<script>"},
        headers=MANAGER,
    )
    assert bad.status_code == 422


async def test_what_a_person_typed_wins_over_the_generated_suggestion(
    metrics_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan_id, registrations, *_ = await seeded(sessions)
    noted = await metrics_client.put(
        f"/metrics/plans/{plan_id}/evaluation/{registrations}",
        json={"suggestion": "widen age band to 18-35"},
        headers=MANAGER,
    )
    assert noted.status_code == 204
    text = (
        await metrics_client.get(
            f"/metrics/plans/{plan_id}/evaluation.html",
            params={**AS_OF, "lang": "en"},
            headers=MANAGER,
        )
    ).text
    assert "widen age band to 18-35" in text
    # the analysis is still generated
    assert "Douyin feed ads carried 56% of it." in text


async def test_the_xlsx_holds_numbers_with_money_formats(
    metrics_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan_id = (await seeded(sessions)).plan_id
    answer = await metrics_client.get(
        f"/metrics/plans/{plan_id}/evaluation.xlsx",
        params={**AS_OF, "lang": "en"},
        headers=MANAGER,
    )
    assert answer.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert {"Objectives", "Channels", "Budget", "Funnel", "Target decomposition"} <= set(
        book.sheetnames
    )
    objectives = list(book["Objectives"].iter_rows(values_only=True))
    assert objectives[1][1] == "New registered users"
    assert objectives[1][3] == 180000
    assert objectives[1][4] == 0.9
    channels = {row[0].value: row for row in book["Channels"].iter_rows(min_row=2)}
    feed = channels["Douyin feed ads"]
    assert feed[2].value == 692307.69
    assert "¥" in feed[2].number_format
    assert feed[3].value == 0.03  # CTR: 300,000 / 10,000,000
    assert feed[3].number_format == "0.00%"
    assert channels["Baidu search"][1].value == "moved out of the plan"
    # one row a day from 1 May; registrations to date and the pace of 200,000 over 61 days
    (sheet,) = [name for name in book.sheetnames if name.startswith("Daily trend New registered")]
    trend = list(book[sheet].iter_rows(values_only=True))
    assert len(trend) == 1 + 61
    by_day = {row[0].date(): row[1:] for row in trend[1:]}
    assert by_day[date(2024, 5, 1)][1] == pytest.approx(200000 / 61)
    assert by_day[date(2024, 6, 10)] == (100000, pytest.approx(200000 * 41 / 61))
    assert by_day[date(2024, 6, 30)] == (180000, 200000)


async def test_the_csv_has_every_section_with_plain_numbers(
    metrics_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan_id = (await seeded(sessions)).plan_id
    answer = await metrics_client.get(
        f"/metrics/plans/{plan_id}/evaluation.csv",
        params={**AS_OF, "lang": "zh-CN"},
        headers=MANAGER,
    )
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    titles = [row[0] for row in rows if len(row) == 1]
    assert titles[:3] == ["目标", "渠道", "预算"]
    assert "转化漏斗" in titles
    feed = next(row for row in rows if row[:1] == ["Douyin feed ads"])
    # spend, CTR 300,000 / 10,000,000 and CVR 200,000 / 300,000 as plain numbers
    assert feed[:5] == ["Douyin feed ads", "是", "692307.69", "0.03", "0.6667"]


async def test_kpis_and_rollups_download_as_spreadsheets(
    metrics_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan_id = (await seeded(sessions)).plan_id
    kpis = await metrics_client.get(
        f"/metrics/plans/{plan_id}/kpis.xlsx", params=AS_OF, headers=MANAGER
    )
    assert kpis.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(kpis.content))["KPIs"]
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert rows["registrations"][4].value == 180000
    assert rows["registrations"][5].value == 0.9
    assert rows["gmv"][4].value == 6200000
    assert "¥" in rows["gmv"][4].number_format

    weekly = await metrics_client.get(
        f"/metrics/plans/{plan_id}/rollups.csv",
        params={
            "metric": ["cost", "registrations"],
            "grain": "month",
            "from": "2024-06-01",
            "to": "2024-06-30",
        },
        headers=MANAGER,
    )
    lines = list(csv.reader(io.StringIO(weekly.content.decode("utf-8-sig"))))
    assert lines[1] == ["start", "end", "cost", "registrations"]
    # June: cost 692,307.69 + 500,000; registrations 100,000 + 80,000
    assert lines[2] == ["2024-06-01", "2024-06-30", "1192307.69", "180000"]

    wrong = await metrics_client.get(f"/metrics/plans/{plan_id}/kpis.pdf", headers=MANAGER)
    assert wrong.status_code == 422


async def test_fraud_exclusions_and_unsettled_days_are_marked_where_they_change_a_number(
    metrics_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan_id, _, source, secret = await seeded(sessions)
    # the feed's 100,000 registrations of 10 June excluded as fake
    flagged = await metrics_client.post(
        f"/metrics/plans/{plan_id}/fraud-flags",
        json={
            "source_id": source,
            "entity": "feed",
            "day": "2024-06-10",
            "reason": "bulk sign-ups from one IP",
            "status": "excluded",
        },
        headers=MANAGER,
    )
    assert flagged.status_code == 201, flagged.text
    # as of 31 July the internal source's 28-day window leaves days after 3 July unsettled:
    # a registration on 10 July is one, the GMV of 18 June is final
    late = canonical("2024-07-11T09:00:00Z", ("search", "2024-07-10", "registrations", "5"))
    assert (await post(metrics_client, source, secret, late)).status_code == 200
    text = (
        await metrics_client.get(
            f"/metrics/plans/{plan_id}/evaluation.html",
            params={"as_of": "2024-07-31", "lang": "en"},
            headers=MANAGER,
        )
    ).text
    registrations = text[text.index("New registered users") : text.index("Campaign GMV")]
    # net 80,005 of 200,000; gross 180,005
    assert "80,005" in registrations
    assert "Net of entity-days excluded as fraud (gross 180,005)." in registrations
    assert "Provisional: figures after July 3, 2024 may still be restated." in registrations
    gmv = text[text.index("Campaign GMV") : text.index("Brand keyword search volume")]
    assert "Net of entity-days" not in gmv
    assert "Provisional" not in gmv
    assert "1 entity-days are excluded as fraud" in text


async def test_channels_show_cltv_and_the_ineffective_mark_funnels_their_bottleneck(
    metrics_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan_id, _, source, secret = await seeded(sessions)
    await customers_and_experiments(metrics_client, str(plan_id), source, secret)
    page = await metrics_client.get(
        f"/metrics/plans/{plan_id}/evaluation.html",
        params={**AS_OF, "lang": "en"},
        headers=MANAGER,
    )
    text = html.unescape(page.text)
    channels = text[text.index("data-section='channels'") : text.index("data-section='budget'")]
    feed = channels[channels.index("Douyin feed ads") : channels.index("Baidu search")]
    # feed: CAC 692,307.69 / 20,000 new customers = 34.62; AOV 4,500,000 / 30,000 = 150;
    # CLTV 150 × 3 × 0.4 × 2 = 360; 360 / 34.62 = 10.3986, above the floor of 2
    assert "CN¥34.62" in feed
    assert "CN¥360.00 (by formula)" in feed
    assert "10.4" in feed
    assert "no (CLTV/CAC at or above the floor 2)" in feed
    # search, moved out of the plan, still judged: CAC 500,000 / 2,000 = 250; AOV
    # 1,700,000 / 8,500 = 200; CLTV 200 × 3 × 0.4 × 2 = 480; 480 / 250 = 1.92 < 2
    search = channels[channels.index("Baidu search") :]
    assert "CN¥250.00" in search
    assert "CN¥480.00 (by formula)" in search
    assert "1.92" in search
    assert "yes: CLTV/CAC is 1.9200 (CLTV 480.00 over CAC 250.00), below the floor 2" in search
    assert "no customer lifetime value is reported" not in text
    # planning announced a reserve of 60,000; what is committed and drawn it keeps itself
    budget = text[text.index("data-section='budget'") : text.index("section id='trends'")]
    reserve = budget[budget.index("Contingency reserve") :]
    assert reserve.index("CN¥60,000.00") < reserve.index("kept by planning")
    assert "planned channel budgets and reserve against the spend" in budget
    # feed: clicks → registrations 100,000 / 300,000 = 33.33 % against search's
    # 80,000 / 100,000 = 80 %: (80 − 33.33) / 80 = 58 % lower, worse than its CTR (3 % against
    # 5 %, 40 % lower)
    assert (
        "Bottleneck of Douyin feed ads: Clicks → New registered users converts at 33.33%, "
        "against 80.00% on the plan's other channels (58% lower)." in text
    )
    assert "No step of Baidu search converts below its comparison." in text
    # the period before has registrations but no clicks to convert from
    assert "Not enough figures to compare the funnel of the whole plan." in text
    # CTR feed 300,000 / 10,000,000 = 3 %, search 100,000 / 2,000,000 = 5 %
    experiments = text[text.index("<section id='experiments'") :]
    assert "3.00%" in experiments
    assert "5.00%" in experiments
    assert "winner: search creative" in experiments
    assert "not enough data: each arm needs 100,000,000 Impressions" in experiments
    # as the system knew it before any fact arrived, channels are judged on the figures the
    # page shows then (none), not on today's
    earlier = await metrics_client.get(
        f"/metrics/plans/{plan_id}/evaluation.html",
        params={**AS_OF, "lang": "en", "known_at": "2024-06-21T12:00:00Z"},
        headers=MANAGER,
    )
    then = earlier.text[earlier.text.index("data-section='channels'") :]
    then = then[: then.index("data-section='budget'")]
    assert then.count("not judged: nothing spent in the period") == 2
    assert "CN¥360.00" not in then


async def test_the_diagnosis_reads_in_chinese_and_exports_its_columns(
    metrics_client: httpx.AsyncClient, sessions: Sessions
) -> None:
    plan_id, _, source, secret = await seeded(sessions)
    await customers_and_experiments(metrics_client, str(plan_id), source, secret)
    page = await metrics_client.get(
        f"/metrics/plans/{plan_id}/evaluation.html",
        params={**AS_OF, "lang": "zh-CN"},
        headers=MANAGER,
    )
    text = html.unescape(page.text)
    assert "¥360.00（按经典公式）" in text
    assert "是：CLTV/CAC 为 1.9200（CLTV 480.00 ÷ CAC 250.00），低于下限 2" in text
    assert (
        "Douyin feed ads的瓶颈：点击量 → 新注册用户 转化率为 33.33%，本计划其他渠道为 80.00%"
        "（低 58%）。" in text
    )
    assert "胜出：search creative" in text
    assert "无显著差异" not in text

    book = openpyxl.load_workbook(
        io.BytesIO(
            (
                await metrics_client.get(
                    f"/metrics/plans/{plan_id}/evaluation.xlsx",
                    params={**AS_OF, "lang": "en"},
                    headers=MANAGER,
                )
            ).content
        )
    )
    sheet = list(book["Channels"].iter_rows(values_only=True))
    header = sheet[0]
    assert header[7:] == ("New customers", "CAC", "CLTV", "CLTV/CAC", "Ineffective")
    rows = {row[0]: row for row in sheet[1:]}
    assert rows["Douyin feed ads"][7:11] == (20000, 34.62, 360, 10.3986)
    assert rows["Baidu search"][7:11] == (2000, 250, 480, 1.92)
    assert str(rows["Baidu search"][11]).startswith("yes: CLTV/CAC is 1.9200")
    bottlenecks = list(book["Funnel bottlenecks"].iter_rows(values_only=True))
    feed = next(row for row in bottlenecks if row[0] == "Douyin feed ads")
    assert feed[2:] == (0.333333, 0.8, 0.583334)
    # a sheet name holds no "/"
    trials = list(book["A B experiments"].iter_rows(values_only=True))
    assert [(row[0], row[2], row[3], row[4]) for row in trials[1:]] == [
        ("feed vs search creative", "feed creative", 0.03, 10000000),
        ("feed vs search creative", "search creative", 0.05, 2000000),
        ("long test", "feed creative", 0.03, 10000000),
        ("long test", "search creative", 0.05, 2000000),
    ]

    lines = list(
        csv.reader(
            io.StringIO(
                (
                    await metrics_client.get(
                        f"/metrics/plans/{plan_id}/evaluation.csv",
                        params={**AS_OF, "lang": "zh-CN"},
                        headers=MANAGER,
                    )
                ).content.decode("utf-8-sig")
            )
        )
    )
    feed_line = next(row for row in lines if row[:1] == ["Douyin feed ads"])
    assert feed_line[7:11] == ["20000", "34.62", "360", "10.3986"]
