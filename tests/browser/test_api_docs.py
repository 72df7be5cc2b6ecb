"""Every service's API docs work with no CDN: Swagger UI lists operations and can authorise,
ReDoc renders, and /docs links all five. One live system for all of them: starting one costs
more than the pages."""

from __future__ import annotations

from allinone.app import DEFINITIONS
from tests.browser.conftest import OfflinePage

SERVICES = [d.name for d in DEFINITIONS]


async def test_every_service_documents_itself_without_the_internet(
    live: str, offline: OfflinePage
) -> None:
    page = offline.page
    await page.goto(f"{live}/docs")
    links = await page.locator("a").evaluate_all("(as) => as.map(a => a.pathname)")
    assert {f"/{name}/docs" for name in SERVICES} <= set(links)

    for service in SERVICES:
        await page.goto(f"{live}/{service}/docs")
        operations = page.locator(".opblock")
        await operations.first.wait_for(timeout=30_000)
        assert await operations.count() >= 3, service
        await page.locator("button.authorize").first.click()
        await page.get_by_text("HTTPBearer").first.wait_for(timeout=10_000)
        await offline.screenshot(f"docs-{service}")

        await page.goto(f"{live}/{service}/redoc")
        await page.locator("[data-section-id^='tag/']").first.wait_for(timeout=30_000)
        assert await page.locator("[data-section-id*='operation/']").count() >= 3, service
        await offline.screenshot(f"redoc-{service}")

    assert offline.refused_needed == [], f"the pages needed the internet: {offline.refused}"
