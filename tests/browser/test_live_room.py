"""Whole journeys of viewers and distributors on a 390×844 phone, each checked against the
ledger afterwards; every page state they reach is scanned for English a viewer would read.
Key screens are saved under artifacts/ (docs/screenshots/ keeps a selection)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select

from server.fulfilment.sandbox_courier import signed_event, tracking_no
from server.ledger.schema import commissions, orders, payments, refunds
from tests.browser.conftest import enabled, phone, shot, wait_until
from tests.campaigns import campaign_text
from tests.conftest import LOGISTICS_SECRET
from tests.integration.conftest import GROUP_OPEN, Serve
from tests.integration.test_after_sale_api import photo_with_gps
from tests.server_harness import LiveServer, eventually

_SCAN = """() => {
  const seen = [document.title, document.body.innerText];
  for (const e of document.querySelectorAll("[placeholder],[aria-label],[title],img[alt]"))
    for (const name of ["placeholder", "aria-label", "title", "alt"])
      seen.push(e.getAttribute(name) || "");
  return seen.join("\\n");
}"""
# Bytes the page took before images: the document, its styles and scripts, its API calls.
_WEIGHT = """() => [performance.getEntriesByType("navigation")[0],
  ...performance.getEntriesByType("resource").filter((r) => r.initiatorType !== "img")]
  .reduce((sum, r) => sum + (r.decodedBodySize || 0), 0)"""
_CODE = re.compile(r"[A-Z2-9]{8}")  # a group's or a share link's code, read aloud
_TRACKING = re.compile(r"[A-Z]{0,3}\d{9,15}[A-Z]{0,2}")  # a parcel's tracking number
_LATIN = re.compile(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*")  # a code may start with a digit


async def no_english(page: Any, where: str) -> None:
    """What a viewer reads has no English: the only Latin letters are codes (团号, 分销码)."""
    text = await page.evaluate(_SCAN)
    words = [
        w for w in _LATIN.findall(text) if not _CODE.fullmatch(w) and not _TRACKING.fullmatch(w)
    ]
    assert not words, f"{where}: English on the page: {sorted(set(words))}"
    assert not page.csp_refusals, page.csp_refusals


async def ready(page: Any, url: str) -> None:
    await page.goto(url)
    await wait_until(page, "document.body.dataset.ready === '1'")


async def paid_direct(page: Any, url: str) -> None:
    """Open the live room at `url` and buy one box at the daily price (the sandbox pays)."""
    await ready(page, url)
    await wait_until(page, enabled("button[data-offer=direct]"))
    await page.click("button[data-offer=direct]")
    await wait_until(page, f"{text_of('orders')}.includes('已支付')")


def text_of(element_id: str) -> str:
    return f"(document.getElementById('{element_id}').textContent || '')"


async def fill_address(page: Any, province: str, city: str, district: str) -> None:
    """The address dialog's new-address form, filled and saved."""
    form = "#address-form"
    await wait_until(page, f"document.querySelector('{form} [name=province]').options.length > 30")
    await page.fill(f"{form} [name=recipient]", "王小明")
    await page.fill(f"{form} [name=phone]", "13812345678")
    await page.select_option(f"{form} [name=province]", province)
    if city:
        await wait_until(page, f"document.querySelector('{form} [name=city]').options.length > 1")
        await page.select_option(f"{form} [name=city]", city)
    await wait_until(page, f"document.querySelector('{form} [name=district]').options.length > 1")
    await page.select_option(f"{form} [name=district]", district)
    await page.fill(f"{form} [name=street]", "科技园南区 8 栋 1203")
    await page.click("#address-save")


async def ledger_rows(s: LiveServer, table: Any, *where: Any) -> list[Any]:
    await s.ledger_caught_up()
    async with s.app.state.gateway.ledger.connect() as conn:
        return list((await conn.execute(select(table).where(*where))).all())


async def test_a_depositor_pays_the_deposit_then_the_offers_balance(
    serve_page: Serve, browser: Any
) -> None:
    async with serve_page() as s:
        page = await phone(browser)
        await ready(page, f"{s.base_url}/live/mid-autumn")
        await no_english(page, "presale, before buying")
        weight = await page.evaluate(_WEIGHT)
        assert weight < 150 * 1024, f"the live room weighs {weight} bytes before images"
        await wait_until(page, enabled("button[data-offer=presale]"))
        assert "付定金 ¥50" in await page.inner_text("button[data-offer=presale]")
        await shot(page, "live-presale")
        await page.click("button[data-offer=presale]")
        await wait_until(page, f"{text_of('orders')}.includes('待付尾款')")
        await wait_until(page, f"{text_of('orders')}.includes('开始支付')")  # balance opens 9/6
        await no_english(page, "presale, deposit paid")

        await s.set_clock(GROUP_OPEN)  # nobody clicks: the offer opens on time by itself
        await wait_until(page, f"{text_of('banner')}.includes('专享团')")  # the offer's notice
        await wait_until(page, f"{text_of('unread')} === '1'")  # the depositor's own, pushed
        await wait_until(page, f"{text_of('orders')}.includes('付尾款 ¥238')")
        await shot(page, "live-depositor-offer")
        await no_english(page, "group phase, offer open")
        await page.click("#inbox-open")
        await wait_until(page, f"{text_of('notices')}.includes('专享团')")
        await wait_until(page, "document.getElementById('promotions').checked")
        await no_english(page, "inbox")
        await page.click("#promotions")  # no more promotions for this viewer
        session = await page.evaluate("JSON.parse(localStorage.getItem('liveroom.session'))")
        viewer = {"Authorization": "Bearer " + session["token"]}

        async def promotions() -> bool:
            r = await s.client.get("/api/v1/me/notice-settings", headers=viewer)
            return bool(r.json()["promotions"])

        await eventually(promotions, lambda on: not on)
        await page.click("#inbox-read")
        await wait_until(page, "document.getElementById('unread').hidden")
        await page.click("#inbox-close")

        await page.click("button[data-pay]")  # the balance: ¥238 after the ¥50 deposit
        await wait_until(page, "document.getElementById('address-dialog').open")  # where to?
        await fill_address(page, "310000", "", "310104")
        await wait_until(page, "!document.getElementById('address-dialog').open")
        await wait_until(page, f"{text_of('orders')}.includes('修改地址')")  # the row knows it
        await page.click("button[data-pay]")
        # paid, and with an address the router may already have given it a warehouse (已配货)
        await wait_until(page, f"/已支付|已配货/.test({text_of('orders')})")
        await wait_until(page, "!!document.querySelector('button[data-offer=depositor_group]')")
        assert "¥288" in await page.inner_text("button[data-offer=depositor_group]")
        await page.click("button[data-offer=depositor_group]")  # one more box at ¥288
        await wait_until(page, f"{text_of('orders')}.includes('拼团')")
        await shot(page, "live-depositor-paid")
        await no_english(page, "after paying")

        user = await page.evaluate("JSON.parse(localStorage.getItem('liveroom.session')).user_id")
        rows = await eventually(  # both paid in full with an address: each gets a warehouse
            lambda: ledger_rows(s, orders, orders.c.user_id == user),
            lambda found: len(found) == 2 and all(r.status == "allocated" for r in found),
        )
        assert sorted((r.mode, r.status, r.paid_fen) for r in rows) == [
            ("group", "allocated", 28_800),  # the offer's box: no group to wait for
            ("presale", "allocated", 5_000 + 23_800),
        ]
        paid = await ledger_rows(s, payments, payments.c.order_id.in_([r.order_id for r in rows]))
        assert sorted(p.amount_fen for p in paid) == [5_000, 23_800, 28_800]
        assert not (await s.reconcile()).problems


async def test_a_group_opened_joined_from_the_invite_and_formed_refunds_the_difference(
    serve_page: Serve, browser: Any
) -> None:
    # Tiers of 2 and 3: three members reach the lower price, ¥20 a box under the entry tier.
    tiers = (
        campaign_text(100, 0, 0)
        .replace("min_members = 3", "min_members = 2", 1)
        .replace("min_members = 10", "min_members = 3", 1)
    )
    async with serve_page(tiers, clock_start=GROUP_OPEN) as s:
        leader = await phone(browser)
        await ready(leader, f"{s.base_url}/live/mid-autumn")
        await wait_until(leader, enabled("button[data-offer=group]"))
        assert "开团 ¥328" in await leader.inner_text("button[data-offer=group]")
        await leader.click("button[data-offer=group]")
        await wait_until(leader, "!document.getElementById('my-group').hidden")
        await wait_until(leader, f"{text_of('orders')}.includes('已支付')")
        invite = await leader.input_value("#my-group-link")
        assert "?group=" in invite
        await shot(leader, "live-group-opened")
        await no_english(leader, "group opened")

        friends = []
        for _ in range(2):
            friend = await phone(browser)
            await ready(friend, invite)
            await wait_until(friend, "!document.getElementById('invite-card').hidden")
            await wait_until(
                friend,
                enabled("#invite-actions button[data-join]"),
            )
            await no_english(friend, "invited")
            await friend.click("#invite-actions button[data-join]")
            await wait_until(friend, f"{text_of('orders')}.includes('已支付')")
            friends.append(friend)
        await shot(friends[0], "live-group-joined")
        await wait_until(leader, f"{text_of('my-group-progress')}.includes('3 人已付款')")

        await s.advance(86_400 + 60)  # the group's 24 h run out: it closes, formed
        code = invite.rsplit("=", 1)[1]
        for viewer in (leader, *friends):
            await wait_until(viewer, f"{text_of('orders')}.includes('已退差价 ¥20')", seconds=20)
            await no_english(viewer, "group formed")
        await shot(leader, "live-group-formed")

        members = await ledger_rows(s, orders, orders.c.group_code == code)
        assert [(r.paid_fen, r.refunded_fen) for r in members] == [(32_800, 2_000)] * 3
        tier_refunds = await ledger_rows(
            s, refunds, refunds.c.order_id.in_([r.order_id for r in members])
        )
        assert sorted((r.reason, r.amount_fen) for r in tier_refunds) == [("group_tier", 2_000)] * 3
        assert not (await s.reconcile()).problems


async def test_a_distributors_link_earns_pending_then_settled(
    serve_page: Serve, browser: Any
) -> None:
    async with serve_page() as s:
        distributor = await phone(browser)
        await ready(distributor, f"{s.base_url}/live/mid-autumn/distributor")
        await wait_until(distributor, "!document.getElementById('join-card').hidden")
        await no_english(distributor, "distributor, before joining")
        await distributor.click("#join")
        await wait_until(distributor, "!document.getElementById('center').hidden")
        link = await distributor.input_value("#link")
        code = link.rsplit("=", 1)[1]
        poster = await s.client.get(f"/api/v1/campaigns/mid-autumn/poster.png?ref={code}")
        assert poster.status_code == 200 and poster.content[:4] == b"\x89PNG"
        await wait_until(distributor, "document.getElementById('poster').complete")
        await shot(distributor, "distributor-center")
        await no_english(distributor, "distributor center")
        # no payee (nor WeChat Pay here): the page says payouts are made by the merchant
        await wait_until(distributor, f"{text_of('payee')}.includes('还没有收款账户')")

        friend = await phone(browser)
        await ready(friend, link)  # the link the poster's QR code opens
        await wait_until(friend, enabled("button[data-offer=direct]"))
        await friend.click("button[data-offer=direct]")
        await wait_until(friend, f"{text_of('orders')}.includes('已支付')")

        await wait_until(distributor, f"{text_of('pending')} === '¥55.20'", seconds=20)
        await no_english(distributor, "earnings pending")
        friend_user = await friend.evaluate(
            "JSON.parse(localStorage.getItem('liveroom.session')).user_id"
        )
        [order] = await ledger_rows(s, orders, orders.c.user_id == friend_user)
        assert (order.first_touch, order.last_touch) == (f"ref:{code}", f"ref:{code}")
        await wait_until(
            distributor, f"{text_of('link-stats')}.includes('累计 1 人次')", seconds=20
        )
        await s.deliver(await s.login(friend_user), order.order_id)
        await s.advance(8 * 86_400)  # past the 7-day after-sale period: settled
        await wait_until(distributor, f"{text_of('settled')} === '¥55.20'", seconds=25)
        await shot(distributor, "distributor-settled")
        await no_english(distributor, "earnings settled")
        [line] = await ledger_rows(s, commissions, commissions.c.order_id == order.order_id)
        assert (line.distributor, line.state, line.amount_fen) == (code, "settled", 5_520)
        assert not (await s.reconcile()).problems


async def test_a_buyer_gives_an_address_and_follows_the_parcel(
    serve_page: Serve, browser: Any
) -> None:
    async with serve_page() as s:
        page = await phone(browser)
        await paid_direct(page, f"{s.base_url}/live/mid-autumn")
        await page.click("[data-address]")  # its row asks where to ship
        await wait_until(page, "document.getElementById('address-dialog').open")
        await wait_until(
            page,
            "document.querySelector('#address-form select[name=province]').options.length > 30",
        )
        form = "#address-form"
        await page.fill(f"{form} [name=recipient]", "王小明")
        await page.fill(f"{form} [name=phone]", "1381234")
        await page.select_option(f"{form} [name=province]", "440000")
        await wait_until(
            page, "document.querySelector('#address-form [name=city]').options.length > 1"
        )
        await page.select_option(f"{form} [name=city]", "440300")
        await wait_until(
            page, "document.querySelector('#address-form [name=district]').options.length > 1"
        )
        await page.select_option(f"{form} [name=district]", "440305")
        await page.fill(f"{form} [name=street]", "科技园南区 8 栋 1203")
        await page.click("#address-save")
        await wait_until(page, f"{text_of('address-error')}.includes('手机号')")
        assert await page.get_attribute(f"{form} [name=phone]", "aria-invalid") == "true"
        await no_english(page, "address, a bad phone")
        await shot(page, "live-address")
        await page.fill(f"{form} [name=phone]", "13812345678")
        await page.click("#address-save")
        await wait_until(page, "!document.getElementById('address-dialog').open")

        user = await page.evaluate("JSON.parse(localStorage.getItem('liveroom.session')).user_id")
        [order] = await ledger_rows(s, orders, orders.c.user_id == user)
        routed = await s.wait_for_status(await s.login(user), order.order_id, "allocated")
        assert routed["route"] == [{"warehouse": "guangzhou", "units": 1}]  # Shenzhen: 广州仓
        number = tracking_no("SF", 8)
        upload = f"订单号,快递公司,运单号\n{order.order_id},SF,{number}\n".encode()
        r = await s.client.post(
            "/api/v1/ops/shipments?campaign_id=mid-autumn", content=upload, headers=s.ops
        )
        assert r.status_code == 200, r.text
        body, headers = signed_event(
            LOGISTICS_SECRET, order.order_id, "SF", number, "in_transit",
            datetime.fromisoformat("2026-09-02T09:00:00+08:00"), "【深圳】快件已到达南山营业部",
        )  # fmt: skip
        r = await s.client.post("/api/v1/logistics/webhook", content=body, headers=headers)
        assert r.status_code == 200, r.text
        await page.reload()
        await wait_until(page, "document.body.dataset.ready === '1'")
        await wait_until(page, f"{text_of('orders')}.includes('运单号 {number}')")
        assert "南山营业部" in await page.inner_text("#orders")
        await no_english(page, "parcel on its way")
        await shot(page, "live-parcel")

        # Delivered: one box arrived broken; the buyer asks with a photo.
        body, headers = signed_event(
            LOGISTICS_SECRET, order.order_id, "SF", number, "delivered",
            datetime.fromisoformat("2026-09-03T09:00:00+08:00"), "已签收",
        )  # fmt: skip
        await s.client.post("/api/v1/logistics/webhook", content=body, headers=headers)
        await page.reload()
        await wait_until(page, "document.body.dataset.ready === '1'")
        await wait_until(page, "document.querySelector('[data-after-sale]') !== null")
        await page.click("[data-after-sale]")
        await page.select_option("#after-sale-form [name=reason]", "damaged")
        await page.fill("#after-sale-form [name=text]", "外盒压坏")
        await page.set_input_files(
            "#after-sale-form [name=photos]",
            files=[{"name": "box.jpg", "mimeType": "image/jpeg", "buffer": photo_with_gps()}],
        )
        await shot(page, "live-after-sale")
        await page.click("#after-sale-send")
        await wait_until(page, f"{text_of('orders')}.includes('售后处理中')")
        await no_english(page, "after-sale asked")

        async def open_requests() -> list[dict[str, Any]]:  # the ops queue reads the ledger
            url = "/api/v1/ops/after-sales?campaign_id=mid-autumn&status=open"
            found: list[dict[str, Any]] = (await s.client.get(url, headers=s.ops)).json()[
                "requests"
            ]
            return found

        [asked] = await eventually(open_requests, lambda found: len(found) == 1)
        r = await s.client.post(
            f"/api/v1/ops/after-sales/{asked['request_id']}/reject",
            json={"reason": "外盒压痕不影响食用，已补寄一张优惠券"},
            headers=s.ops,
        )
        assert r.status_code == 200, r.text
        await page.reload()
        await wait_until(page, "document.body.dataset.ready === '1'")
        await wait_until(page, f"{text_of('orders')}.includes('售后未通过：外盒压痕')")
        assert not (await s.reconcile()).problems
