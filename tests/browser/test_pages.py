"""The pages in a real headless browser: Debian's chromium driven by Playwright.
Each test saves a screenshot under artifacts/ (CI keeps it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, wait_until
from tests.integration.conftest import Serve
from tests.server_harness import LiveServer

pytestmark = pytest.mark.usefixtures("ledger_url")


async def _numbers(page: Any) -> dict[str, str]:
    ids = ["orders", "deposit-rate", "deposits-paid", "gmv", "recruited", "dist-share"]
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
        assert after["deposit-rate"] == "50.0%" and after["deposits-paid"] == "1"
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


def test_no_page_script_builds_markup_from_strings() -> None:
    """Text from data goes in with textContent: innerHTML (or its cousins) from a template
    string becomes XSS the day a free-text field reaches a page."""
    pages = Path(__file__).resolve().parents[2] / "dashboard"
    for script in pages.glob("*.js"):
        source = script.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
            assert sink not in source, f"{script.name} uses {sink}"
