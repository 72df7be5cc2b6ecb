"""The evaluation report in a real browser, in both languages and as printed: every section
and chart shows, no text overflows its cell, chart labels are at least 12 px, nothing is
fetched from the internet. Screenshots stay in build/screenshots/ for a person to judge."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.browser.conftest import OfflinePage
from tests.metrics.helpers import MANAGER
from tests.metrics.report_seed import seeded

SECTIONS = ("objectives", "achievement", "channels", "budget", "trends", "funnel", "decomposition")
OVERFLOWING_CELLS = """() => [...document.querySelectorAll('td, th')]
    .filter(cell => cell.offsetParent !== null && cell.scrollWidth > cell.clientWidth + 1)
    .map(cell => cell.textContent)"""
SMALLEST_CHART_LABEL = """() => Math.min(...[...document.querySelectorAll('svg text')]
    .map(t => t.getBoundingClientRect().height > 0
        ? parseFloat(getComputedStyle(t).fontSize) : 99))"""


async def test_the_report_reads_in_chinese_and_english_on_screen_and_in_print(
    live: str, offline: OfflinePage, sessions: async_sessionmaker[AsyncSession]
) -> None:
    plan_id = (await seeded(sessions)).plan_id
    page = offline.page
    await page.set_extra_http_headers(MANAGER)
    for lang, heading in (("zh-CN", "效果评估"), ("en", "Evaluation")):
        url = f"{live}/metrics/plans/{plan_id}/evaluation.html?lang={lang}&as_of=2024-06-30"
        answer = await page.goto(url)
        assert answer is not None
        assert answer.status == 200
        assert heading in await page.locator("h1").inner_text()
        for section in SECTIONS:
            assert await page.locator(f"section#{section}").is_visible(), (lang, section)
        charts = page.locator("svg[role='img']")
        assert await charts.count() == 6
        for n in range(6):
            chart = charts.nth(n)
            assert await chart.is_visible(), (lang, n)
            box = await chart.bounding_box()
            assert box is not None
            assert box["width"] > 300, (lang, n)
            assert await chart.locator("title").count() == 1
            assert await chart.locator("desc").count() == 1
        assert await page.evaluate(OVERFLOWING_CELLS) == [], lang
        assert await page.evaluate(SMALLEST_CHART_LABEL) >= 12
        await offline.screenshot(f"evaluation-{lang}", full_page=True)

        # A4 portrait is about 794 CSS pixels wide less the margins
        await page.set_viewport_size({"width": 718, "height": 1000})
        await page.emulate_media(media="print")
        assert await page.evaluate(OVERFLOWING_CELLS) == [], f"{lang} print"
        width = await page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 718, f"{lang} print is {width}px wide"
        await offline.screenshot(f"evaluation-{lang}-print", full_page=True)
        await page.emulate_media(media="screen")
        await page.set_viewport_size({"width": 1280, "height": 900})
    assert offline.refused_needed == [], f"the report needed the internet: {offline.refused}"
