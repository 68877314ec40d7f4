"""The pages in a real headless browser: Debian's chromium driven by Playwright.
Each test saves a screenshot under artifacts/ (CI keeps it)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TIME_FACTOR, missing_service
from tests.integration.conftest import GROUP_OPEN, Serve
from tests.server_harness import LiveServer

CHROMIUM = os.environ.get("LIVEROOM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
pytestmark = pytest.mark.usefixtures("ledger_url")


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not shutil.which(CHROMIUM):
        missing_service(f"no chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        launched = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--headless",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        await launched.close()


async def wait_until(page: Any, expression: str, seconds: float = 10) -> None:
    """Poll a JavaScript expression until it is true. (Playwright's wait_for_function
    evaluates strings with eval inside the page, which the pages' CSP rightly forbids;
    page.evaluate goes through the devtools protocol.)"""
    deadline = asyncio.get_running_loop().time() + seconds * TIME_FACTOR
    while not await page.evaluate(expression):
        assert asyncio.get_running_loop().time() < deadline, f"never true: {expression}"
        await asyncio.sleep(0.05)


async def _numbers(page: Any) -> dict[str, str]:
    ids = ["orders", "deposits-placed", "deposits-paid", "gmv", "recruited", "dist-share"]
    return {i: await page.locator(f"#{i}").inner_text() for i in ids}


async def test_big_screen_moves_when_orders_arrive(
    serve_with_ledger: Serve, browser: Any, ledger_url: str
) -> None:
    async with serve_with_ledger() as s:
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        refused = _csp_refusals(page)
        token = await s.screen_token()
        answer = await page.goto(f"{s.base_url}/dashboard/?campaign=mid-autumn&token={token}")
        assert answer is not None
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["x-content-type-options"] == "nosniff"
        await page.wait_for_selector("#link-state.up")
        await wait_until(page, "document.getElementById('stock-total').textContent.length > 0")
        before = await _numbers(page)
        assert before["orders"] == "0"
        await _activity(s)
        await wait_until(page, "document.getElementById('orders').textContent === '3'")
        after = await _numbers(page)
        assert after["deposits-placed"] == "2" and after["deposits-paid"] == "1"
        assert after["recruited"] == "1" and after["gmv"] != before["gmv"]
        assert re.match(r"^\d+(\.\d)?%$", after["dist-share"]) and after["dist-share"] != "0.0%"
        assert not refused, refused
        ARTIFACTS.mkdir(exist_ok=True)
        name = "big-screen-" + ("postgres" if "postgres" in ledger_url else "sqlite") + ".png"
        await page.screenshot(path=str(ARTIFACTS / name))


def _csp_refusals(page: Any) -> list[str]:
    """Messages of everything the Content-Security-Policy refused on this page."""
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return refused


async def _activity(s: LiveServer) -> None:
    buyer, dist = await s.login("buyer"), await s.login("dist")
    code = await s.become_distributor(dist)
    first = await s.order(buyer, mode="presale", qty=1, ref=code)
    await s.pay(buyer, first["order_id"])
    await s.order(await s.login("other"), mode="presale", qty=1)
    await s.order(buyer, mode="direct", qty=1)


async def test_live_room_places_an_order_and_pays(
    serve_with_ledger: Serve, browser: Any, ledger_url: str
) -> None:
    async with serve_with_ledger(clock_start=GROUP_OPEN) as s:
        page = await browser.new_page(viewport={"width": 390, "height": 844})
        refused = _csp_refusals(page)
        await page.goto(f"{s.base_url}/live/mid-autumn")
        await page.wait_for_selector("body[data-ready='1']")
        await wait_until(page, "document.getElementById('left').textContent === '100'")
        await page.click("#open-group")
        await wait_until(page, "document.getElementById('message').textContent.includes('团号')")
        await wait_until(page, "document.getElementById('left').textContent === '99'")
        await page.click("button[data-pay]")
        await wait_until(page, "document.getElementById('orders').textContent.includes('已支付')")
        assert not refused, refused
        ARTIFACTS.mkdir(exist_ok=True)
        name = "live-room-" + ("postgres" if "postgres" in ledger_url else "sqlite") + ".png"
        await page.screenshot(path=str(ARTIFACTS / name), full_page=True)
        user = await page.evaluate("localStorage.getItem('liveroom.user')")
        mine = await s.my_orders(await s.login(user))
        assert [o["status"] for o in mine.values()] == ["paid"]


def test_no_page_script_builds_markup_from_strings() -> None:
    """Text from data goes in with textContent: innerHTML (or its cousins) from a template
    string becomes XSS the day a free-text field reaches a page."""
    pages = Path(__file__).resolve().parents[2] / "dashboard"
    for script in pages.glob("*.js"):
        source = script.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
            assert sink not in source, f"{script.name} uses {sink}"
