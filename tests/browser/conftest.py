"""The browser tests: one Debian chromium for the whole session (started once, reached over
the devtools protocol by each test's Playwright), and the real app per test on the embedded
Valkey and a SQLite ledger (the pages are what is tested here; the servers are covered by
the rest of the suite)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from server.demo_reset import delete_keys
from server.embedded import EmbeddedValkey
from tests.conftest import TIME_FACTOR, missing_service
from tests.integration.conftest import (
    Serve,
    _serve_factory,
    serve_with_ledger,  # noqa: F401 (the big-screen test)
)

CHROMIUM = os.environ.get("LIVEROOM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
_DEVTOOLS = re.compile(r"DevTools listening on (ws://\S+)")


@pytest.fixture(scope="session")
def chromium() -> Iterator[str]:
    """One headless chromium for every browser test; its devtools address."""
    if not shutil.which(CHROMIUM):
        missing_service(f"no chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    with tempfile.TemporaryDirectory(
        prefix="liveroom-chromium-", ignore_cleanup_errors=True
    ) as profile:
        process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stderr is not None
            for line in process.stderr:
                found = _DEVTOOLS.search(line)
                if found:
                    break
            else:
                raise RuntimeError("chromium did not start")
            yield found[1]
        finally:
            process.terminate()
            process.wait(timeout=10)
            if process.stderr is not None:
                process.stderr.close()


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        connected = await p.chromium.connect_over_cdp(chromium)
        yield connected
        for context in connected.contexts[1:]:  # each test's own; the default one stays
            await context.close()


@pytest.fixture
async def serve_page(
    embedded_valkey: EmbeddedValkey, key_prefix: str, tmp_path: Path
) -> AsyncIterator[Serve]:
    client = Redis.from_url(embedded_valkey.url)
    yield _serve_factory(
        embedded_valkey.url,
        key_prefix,
        tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite3'}",
        embedded_worker=True,
    )
    await delete_keys(client, key_prefix)
    await client.aclose()


async def phone(browser: Any) -> Any:
    """A fresh viewer on a 390×844 phone: own storage, own login. `page.csp_refusals`
    collects what the Content-Security-Policy refused (a test fails on any)."""
    viewport = {"width": 390, "height": 844}
    context = await browser.new_context(viewport=viewport, device_scale_factor=2)
    page = await context.new_page()
    refused: list[str] = []

    def heard(message: Any) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", heard)
    page.csp_refusals = refused
    return page


def enabled(selector: str) -> str:
    """A JavaScript test: an enabled element matches `selector`."""
    return f"!!document.querySelector('{selector}:not([disabled])')"


async def wait_until(page: Any, expression: str, seconds: float = 10) -> None:
    """Poll a JavaScript expression until it is true. (Playwright's wait_for_function
    evaluates strings with eval inside the page, which the pages' CSP rightly forbids;
    page.evaluate goes through the devtools protocol.)"""
    deadline = asyncio.get_running_loop().time() + seconds * TIME_FACTOR
    while not await page.evaluate(expression):
        assert asyncio.get_running_loop().time() < deadline, f"never true: {expression}"
        await asyncio.sleep(0.05)


DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def screenshot_path(name: str) -> str:
    """Where a screenshot the README shows goes: artifacts/ on every run (CI keeps it), and
    docs/screenshots/ only when asked (LIVEROOM_SCREENSHOTS=docs), so a test run leaves the
    checkout as it was."""
    folder = DOCS_SHOTS if os.environ.get("LIVEROOM_SCREENSHOTS") == "docs" else ARTIFACTS
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / name)


async def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with contextlib.suppress(Exception):
        await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
