"""The growth loop in the browser: a buyer posts a 晒单 with a photo from their phone, ops
approve it in the console, a distributor shares it from their center (link and QR code),
a friend opens that link and buys, and the console shows the order came from the material,
the material's share, view and order, and the distributor's commission."""

from __future__ import annotations

from typing import Any

from server.ledger.schema import commissions, orders
from tests.browser.conftest import phone, shot, wait_until
from tests.browser.test_console import laptop, sign_in
from tests.browser.test_live_room import ledger_rows, no_english, paid_direct, ready, text_of
from tests.integration.conftest import Serve
from tests.integration.test_after_sale_api import photo_with_gps


async def test_a_post_becomes_material_that_a_distributor_shares_and_a_friend_buys_through(
    serve_page: Serve, browser: Any
) -> None:
    async with serve_page() as s:
        buyer = await phone(browser)
        await paid_direct(buyer, f"{s.base_url}/live/mid-autumn")
        posts = await buyer.get_attribute("#posts-link", "href")
        await ready(buyer, f"{s.base_url}{posts}")  # the live room's link to 晒单
        await wait_until(buyer, "!document.getElementById('post-card').hidden")
        await buyer.fill("#post-form [name=text]", "月饼收到了，流心奶黄很惊艳")
        await buyer.set_input_files(
            "#post-form [name=images]",
            files=[{"name": "mooncake.jpg", "mimeType": "image/jpeg", "buffer": photo_with_gps()}],
        )
        await buyer.click("#post-send")
        await wait_until(buyer, f"{text_of('mine')}.includes('待审核')")
        await shot(buyer, "posts-pending")
        await no_english(buyer, "晒单, pending")

        ops = await laptop(browser)
        await sign_in(ops, s, "yunying", "operator")
        await ops.goto(f"{s.base_url}/console/materials")
        await wait_until(ops, "!!document.querySelector('#pending-posts [data-material] img')")
        await wait_until(ops, "document.querySelector('#pending-posts img').naturalWidth > 0")
        await shot(ops, "console-materials-pending")
        await ops.click("#pending-posts button.primary")
        await wait_until(ops, "!document.querySelector('#pending-posts [data-material]')")
        assert "已通过" in await ops.inner_text("#materials")
        assert "已通过，晒单进入素材库" in await ops.inner_text("body")  # what was done

        await buyer.reload()
        await wait_until(buyer, f"{text_of('mine')}.includes('已通过')")
        await wait_until(buyer, "!!document.querySelector('#showcase [data-material] img')")

        seller = await phone(browser)
        await ready(seller, f"{s.base_url}/live/mid-autumn/distributor")
        await seller.click("#join")
        await wait_until(seller, "!!document.querySelector('#materials [data-share]')")
        await no_english(seller, "distributor center with materials")
        await shot(seller, "distributor-materials")
        await seller.click("#materials [data-share]")
        await wait_until(seller, "document.getElementById('share-dialog').open")
        await wait_until(seller, "document.getElementById('share-card').naturalWidth === 750")
        link = await seller.input_value("#share-link")
        assert "ref=D" in link and "&material=M" in link, link
        await shot(seller, "distributor-share-material")
        code = link.split("ref=")[1].split("&")[0]
        material = link.rsplit("material=", 1)[1]

        friend = await phone(browser)
        await paid_direct(friend, link)  # the link the distributor shared
        friend_user = await friend.evaluate(
            "JSON.parse(localStorage.getItem('liveroom.session')).user_id"
        )
        [order] = await ledger_rows(s, orders, orders.c.user_id == friend_user)
        assert (order.last_touch, order.ref) == (f"material:{material}", code)
        [line] = await ledger_rows(s, commissions, commissions.c.order_id == order.order_id)
        assert (line.distributor, line.state) == (code, "pending")
        await wait_until(seller, f"{text_of('pending')} === '¥55.20'", seconds=20)

        await ops.goto(f"{s.base_url}/console/orders/{order.order_id}")
        assert "月饼收到了" in await ops.inner_text("#order-last-touch")
        assert "素材分享" in await ops.inner_text("#order-last-touch")
        await ops.goto(f"{s.base_url}/console/materials")
        cells = await ops.eval_on_selector_all(
            f"#materials tr[data-material='{material}'] td.n",
            "cells => cells.map(c => c.textContent)",
        )
        assert cells == ["1", "1", "1", "1", "1"], cells  # shares, views, clicks, orders, paid

        # Ops add a poster of their own from the console's form.
        await ops.fill("#add-material [name=title]", "中秋礼盒海报")
        await ops.set_input_files(
            "#add-material [name=image]",
            files=[{"name": "poster.jpg", "mimeType": "image/jpeg", "buffer": photo_with_gps()}],
        )
        assert await ops.inner_text("#image-name") == "poster.jpg"
        await ops.click("#add-material button.primary")
        await ops.wait_for_url("**/console/materials?*done=material_added")
        assert "中秋礼盒海报" in await ops.inner_text("#materials")
        await shot(ops, "console-materials")
