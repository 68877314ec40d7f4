"""After-sale in the console: the queue shows the open request first, its photo, and an
operator refunds an amount from the request's page; finance may look but not decide."""

from __future__ import annotations

from tests.integration.conftest import Serve
from tests.integration.test_after_sale_api import _ask, _delivered, photo_with_gps
from tests.integration.test_console_roles import signed_in


async def test_an_operator_refunds_an_amount_from_the_request_page(
    serve_with_ledger: Serve,
) -> None:
    async with serve_with_ledger() as s:
        buyer = await s.login("buyer")
        oid = await _delivered(s, buyer, None)
        asked = await _ask(s, buyer, oid, "1", [photo_with_gps()])
        rid = asked.json()["id"]
        await s.ledger_caught_up()
        async with signed_in(s, "qian.li", "finance") as (client, csrf):
            page = await client.get(f"/console/after-sales/{rid}")
            assert page.status_code == 200 and "礼盒压坏了一盒" in page.text
            assert 'id="approve"' not in page.text
            refused = await client.post(
                f"/console/after-sales/{rid}/approve", data={"csrf": csrf, "reason": "x"}
            )
            assert refused.status_code == 403
        async with signed_in(s, "li.yun", "operator") as (client, csrf):
            listed = await client.get("/console/after-sales")
            assert rid in listed.text and "商品破损" in listed.text and "待处理" in listed.text
            photo = await client.get(f"/console/after-sales/{rid}/photos/1.jpg")
            assert photo.headers["content-type"] == "image/jpeg"
            bad = await client.post(
                f"/console/after-sales/{rid}/approve",
                data={"csrf": csrf, "amount": "2000", "reason": "补偿"},  # more than was paid
            )
            assert bad.status_code == 422 and "不超过商家实收" in bad.text
            done = await client.post(
                f"/console/after-sales/{rid}/approve",
                data={"csrf": csrf, "amount": "50.5", "units": "0", "reason": "补偿运费与破损"},
            )
            assert done.status_code == 303
            page = await client.get(f"/console/after-sales/{rid}")
            assert "已同意" in page.text and "¥50.50" in page.text
        mine = (await s.my_orders(buyer))[oid]
        assert mine["refunded_fen"] == 5050 and mine["after_sale"]["units"] == 0
        assert not (await s.reconcile()).problems
