"""Pages people look at, in a real browser: Debian's Chromium driven by Playwright.

Playwright's own browser download cannot work here, so it drives the system Chromium
(`make test` installs it with apt). Every request to a host other than this machine is refused,
as the company network may refuse a CDN; the refused addresses are kept for the test to judge.
Screenshots are written to build/screenshots/ for a person to look at.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Page, Route, async_playwright

from tests.e2e.conftest import live  # noqa: F401 - the live all-in-one server, shared

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]"}
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """The system Chromium; missing, it is a failure, not a skip."""
    assert CHROMIUM.exists(), "Chromium is missing: `make test` installs it (apt chromium)"
    return CHROMIUM


@pytest.fixture(scope="session")
async def chromium(chromium_path: Path) -> AsyncIterator[Browser]:
    """Headless Chromium for the whole run."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=FLAGS
        )
        yield browser
        await browser.close()


@dataclass
class OfflinePage:
    """A page whose requests may only reach this machine."""

    page: Page
    refused: list[tuple[str, str]] = field(default_factory=list)  # (resource type, url)

    @property
    def refused_needed(self) -> list[str]:
        """Refused requests a page needs to work (code, styles, data, fonts); a decorative
        image that fails (ReDoc's 'powered by' logo) is not one of them."""
        return [url for kind, url in self.refused if kind != "image"]

    async def screenshot(self, name: str, *, full_page: bool = False) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
async def offline(chromium: Browser) -> AsyncIterator[OfflinePage]:
    context = await chromium.new_context(viewport={"width": 1280, "height": 900})
    page = OfflinePage(await context.new_page())

    async def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname in {h.strip("[]") for h in LOCAL_HOSTS}:
            await route.continue_()
        else:
            page.refused.append((route.request.resource_type, route.request.url))
            await route.abort("internetdisconnected")

    await context.route("**/*", only_local)
    yield page
    await context.close()
