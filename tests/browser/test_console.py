"""The ops console in a real chromium at a laptop's 1440x900: an operator builds the
canonical campaign from an empty form and it then sells exactly as the shipped file does;
the broadcast desk stops a mode within a second and reaches every live room."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from server.console import campaign_form as form
from server.domain.campaign import parse_campaign
from tests.browser.conftest import phone, screenshot_path, shot, wait_until
from tests.browser.test_live_room import ready, text_of
from tests.campaigns import CANONICAL
from tests.integration.conftest import GROUP_OPEN, Serve
from tests.server_harness import LiveServer

COPY = "mid-autumn-console"  # the campaign built in the browser, beside the shipped one
PASSWORD = "correct horse battery"


async def laptop(browser: Any) -> Any:
    context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))  # "确定…吗？"
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.csp_refusals = refused
    return page


async def sign_in(page: Any, s: LiveServer, username: str, role: str) -> None:
    await s.app.state.gateway.accounts.add(username, "新同事", role, PASSWORD)
    await page.goto(f"{s.base_url}/console/")
    assert "/console/login" in page.url  # not signed in: the sign-in page first
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button.primary")
    await page.wait_for_url(re.compile(r".*/console/$"))


def _depth_then_number(name: str) -> tuple[int, list[int]]:
    return name.count("["), [int(n) for n in re.findall(r"\[(\d+)\]", name)]


async def fill_campaign(page: Any, values: dict[str, list[str]]) -> None:
    """Type a whole campaign into the editor as an operator would: switch on its sections,
    add its rows, then fill every field (each change is checked by the server as it goes)."""
    for name, given in values.items():
        if name.startswith("on.") and given[-1] == "1":
            section = name.removeprefix("on.")
            await page.click(f"#s-{section} button.switch")
            await wait_until(page, f"document.querySelector('[name=\"{name}\"]').value === '1'")
    rows = sorted((n for n in values if n.endswith(".__row")), key=_depth_then_number)
    for row in rows:
        list_path = row.rsplit("[", 1)[0]
        await page.click(f"button[value='add:{list_path}']")
        await wait_until(page, f"!!document.querySelector('[name=\"{row}\"]')")
    for name, given in values.items():
        if name.startswith(("on.", "_")) or name.endswith(".__row"):
            continue
        await set_field(page, name, given)


async def set_field(page: Any, name: str, given: list[str]) -> None:
    selector = f'[name="{name}"]'
    kind = await page.evaluate(
        f"(() => {{ const e = document.querySelector('{selector}'); "
        "return e.tagName === 'SELECT' ? 'select' : e.type; })()"
    )
    if kind == "checkbox":
        # A click may make htmx swap the boxes for new ones: a locator finds the box anew
        # each time (a handle taken before would wait on a box no longer in the page)
        values = await page.eval_on_selector_all(selector, "boxes => boxes.map((b) => b.value)")
        for value in values:
            box = page.locator(f'{selector}[value="{value}"]')
            if (value in given) != await box.is_checked():
                await box.click()
    elif kind == "select":
        await page.select_option(selector, given[-1])
    else:
        await page.fill(selector, given[-1])


async def quotes_of(s: LiveServer, campaign_id: str, viewers: dict[str, dict[str, str]]) -> Any:
    answers = {}
    for who, headers in viewers.items():
        r = await s.client.get(f"/api/v1/campaigns/{campaign_id}/quote", headers=headers)
        assert r.status_code == 200, r.text
        answers[who] = {k: v for k, v in r.json().items() if k != "campaign_id"}
    return answers


@pytest.mark.timeout(300)  # a hundred fields typed, each checked by the server as it goes
async def test_an_operator_builds_the_canonical_campaign_from_an_empty_form(
    serve_page: Serve, browser: Any
) -> None:
    shipped = tomllib.loads(CANONICAL)
    wanted = form.from_raw({**shipped, "id": COPY})
    async with serve_page(text=CANONICAL) as s:
        page = await laptop(browser)
        await sign_in(page, s, "li.yun", "operator")
        await page.click("a[href='/console/campaigns/new']")
        await page.wait_for_selector("#campaign-form")

        # a deposit and balance that do not add up to the price: said at the price's field
        await fill_campaign(page, {**wanted, "presale.price_fen": ["300"]})
        await wait_until(
            page,
            "document.getElementById('err-presale-price_fen').textContent"
            ".includes('须等于定金 + 尾款')",
        )
        assert "还有 1 处需要修改" in await page.inner_text("#preview")
        await shot(page, "console-editor-problem")
        await page.fill('[name="presale.price_fen"]', "298")
        await wait_until(
            page, "document.getElementById('err-presale-price_fen').textContent.trim() === ''"
        )
        await wait_until(
            page, "document.getElementById('preview').textContent.includes('检查通过')"
        )
        pools = {
            n: await page.inner_text(f"#preview-pools [data-pool={n}]")
            for n in ("presale", "group", "distribution")
        }
        assert pools == {"presale": "2000", "group": "5000", "distribution": "3000"}
        await page.evaluate("window.scrollTo(0, 0)")
        await page.screenshot(path=screenshot_path("console-editor.png"))

        await page.click("#review")
        await page.wait_for_selector("#publish")
        assert "这是一个新活动" in await page.inner_text("main")
        await page.click("#publish")
        await page.wait_for_url(re.compile(rf".*/console/c/{COPY}/edit\?done=published"))
        assert not page.csp_refusals, page.csp_refusals

        # what runs is the shipped campaign under another id: the same rules, quotes and pools
        gw = s.app.state.gateway
        built = gw.runtime.live(COPY).campaign
        assert built == parse_campaign(CANONICAL.replace('id = "mid-autumn"', f'id = "{COPY}"', 1))
        viewers = {
            "new": await s.login("new-viewer"),
            "member": await s.login("gold-viewer"),
            "distributor": await s.login("sharer"),
            "depositor": await s.login("depositor"),
        }
        r = await s.client.put(
            "/api/v1/ops/users/gold-viewer", json={"member_tier": "black-gold"}, headers=s.ops
        )
        assert r.status_code == 200, r.text
        r = await s.client.post(
            "/api/v1/distributors",
            json={"campaign_id": "mid-autumn"},
            headers=viewers["distributor"],
        )
        assert r.status_code in (200, 201), r.text
        for cid in ("mid-autumn", COPY):
            r = await s.client.post(
                f"/api/v1/campaigns/{cid}/orders",
                json={"mode": "presale", "qty": 1},
                headers=viewers["depositor"],
            )
            assert r.status_code == 201, r.text
            await s.pay(viewers["depositor"], r.json()["order_id"])
        assert await quotes_of(s, COPY, viewers) == await quotes_of(s, "mid-autumn", viewers)
        assert (await s.stock(COPY))["pools"] == (await s.stock("mid-autumn"))["pools"]
        await s.set_clock(GROUP_OPEN)
        assert await quotes_of(s, COPY, viewers) == await quotes_of(s, "mid-autumn", viewers)


async def test_a_field_emptied_and_left_says_required_until_it_is_filled_again(
    serve_page: Serve, browser: Any
) -> None:
    async with serve_page(text=CANONICAL) as s:
        page = await laptop(browser)
        await sign_in(page, s, "li.yun", "operator")
        await page.goto(f"{s.base_url}/console/c/mid-autumn/edit")
        await page.fill('[name="name"]', "")
        await page.click('[name="brand"]')  # the operator moves on: the field was visited
        await wait_until(page, "document.getElementById('err-name').textContent.includes('必填')")
        async with page.expect_response("**/console/campaigns/check") as answered:
            await page.fill('[name="name"]', "中秋家宴")
            await page.click('[name="brand"]')
        # the check swaps the box that showed a problem, not every field's box
        assert (await (await answered.value).text()).count("hx-swap-oob") == 1
        await wait_until(page, "document.getElementById('err-name').textContent.trim() === ''")
        await wait_until(
            page, "document.getElementById('preview').textContent.includes('检查通过')"
        )


async def test_the_desk_pauses_a_mode_within_a_second_and_reaches_every_live_room(
    serve_page: Serve, browser: Any
) -> None:
    async with serve_page(text=CANONICAL) as s:
        buyer = await s.login("buyer")
        viewer = await phone(browser)
        await ready(viewer, f"{s.base_url}/live/mid-autumn")
        page = await laptop(browser)
        await sign_in(page, s, "wang.zhibo", "operator")
        await page.goto(f"{s.base_url}/console/c/mid-autumn/desk")
        assert "将通知 0 位定金用户" in await page.inner_text("#offer")

        async def direct_order() -> Any:
            return await s.client.post(
                "/api/v1/campaigns/mid-autumn/orders",
                json={"mode": "direct", "qty": 1},
                headers=buyer,
            )

        assert (await direct_order()).status_code == 201
        clicked = time.monotonic()
        await page.click("tr[data-mode=direct] form[action$='/pause'] button")
        while (answer := await direct_order()).status_code == 201:
            assert time.monotonic() - clicked < 1.0, "still taking direct orders after 1 s"
        assert answer.status_code == 409 and answer.json()["error"] == "mode_paused"
        await page.wait_for_url(re.compile(r".*done=paused"))
        assert "已暂停" in await page.inner_text("tr[data-mode=direct]")
        presale = await s.client.post(
            "/api/v1/campaigns/mid-autumn/orders", json={"mode": "presale", "qty": 1}, headers=buyer
        )
        assert presale.status_code == 201, "only the paused mode stops"

        await page.click("tr[data-mode=direct] form[action$='/resume'] button")
        await page.wait_for_url(re.compile(r".*done=resumed"))
        assert (await direct_order()).status_code == 201

        await page.fill("#notice input[name=text]", "开抢！还剩 100 盒")
        await page.click("#notice button.primary")
        await page.wait_for_url(re.compile(r".*done=notice_pushed"))
        await wait_until(viewer, f"{text_of('banner')}.includes('开抢！还剩 100 盒')")
        await wait_until(
            page, "document.querySelector('.desk-figures').textContent.includes('当前公告')"
        )
        await page.screenshot(path=screenshot_path("console-desk.png"))
        assert not page.csp_refusals, page.csp_refusals


async def test_finance_reconciles_from_the_console_and_its_csv_adds_up_to_the_ledger(
    serve_page: Serve, browser: Any
) -> None:
    async with serve_page(text=CANONICAL) as s:
        buyer = await s.login("buyer")
        kept = await s.order(buyer, mode="direct", qty=2)
        await s.pay(buyer, kept["order_id"])
        deposit = await s.order(buyer, mode="presale", qty=1)
        await s.pay(buyer, deposit["order_id"])
        gone = await s.order(buyer, mode="direct", qty=1)
        await s.pay(buyer, gone["order_id"])
        page = await laptop(browser)
        await sign_in(page, s, "zhao.caiwu", "finance")
        refund = await s.client.post(
            f"/api/v1/ops/orders/{gone['order_id']}/refund", json={}, headers=s.ops
        )
        assert refund.status_code == 200, refund.text
        await s.ledger_caught_up()

        await page.goto(f"{s.base_url}/console/finance")
        paid, refunded = 2 * 36_800 + 5_000 + 36_800, 36_800
        assert await page.inner_text("#fin-paid") == f"¥{paid // 100}"
        assert await page.inner_text("#fin-refunded") == f"¥{refunded // 100}"
        await page.click("#run-reconcile")
        await page.wait_for_selector("#verdict")
        assert "对账通过" in await page.inner_text("#verdict")
        await wait_until(page, "!!document.querySelector('.chart svg')")  # ECharts drew
        await page.screenshot(path=screenshot_path("console-finance.png"), full_page=True)

        async with page.expect_download() as download_info:
            await page.click("a[href^='/console/finance/orders.csv']")
        download = await download_info.value
        rows = list(csv.reader(io.StringIO(Path(await download.path()).read_text("utf-8-sig"))))
        assert rows[0][0] == "订单号" and rows[-1][0] == "合计"
        body = rows[1:-1]
        assert len(body) == 3
        assert sum(_fen(r[6]) for r in body) == _fen(rows[-1][6]) == paid
        assert sum(_fen(r[7]) for r in body) == _fen(rows[-1][7]) == refunded

        await page.goto(f"{s.base_url}/console/attribution")  # 归因: the buyer's own mix
        assert await page.inner_text("#depositors-in-groups") == "0 / 1"
        assert "直接进入" in await page.inner_text("#channels")
        await page.screenshot(path=screenshot_path("console-attribution.png"), full_page=True)
        async with page.expect_download() as download_info:
            await page.click("a[href^='/console/attribution.csv']")
        download = await download_info.value
        rows = list(csv.reader(io.StringIO(Path(await download.path()).read_text("utf-8-sig"))))
        assert rows[0] == ["部分", "项目", "指标", "数值"] and len(rows) > 20
        await page.goto(f"{s.base_url}/console/notices")
        assert "推送渠道" in await page.inner_text("#notice-channel")
        await page.screenshot(path=screenshot_path("console-notices.png"), full_page=True)
        assert not page.csp_refusals, page.csp_refusals


def _fen(yuan: str) -> int:
    whole, _, cents = yuan.partition(".")
    return int(whole) * 100 + int(cents or 0)
