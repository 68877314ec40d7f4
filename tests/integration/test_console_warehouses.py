"""Warehouses in the console: each warehouse's units, a pick list whose addresses are whole
for a role that ships and masked for finance, the tracking upload refused whole with every
bad row named, and an order's warehouse overridden from its page."""

from __future__ import annotations

import csv
import io

from server.fulfilment.sandbox_courier import tracking_no
from tests.integration.conftest import Serve
from tests.integration.test_console_roles import signed_in


async def test_warehouses_pick_lists_and_the_tracking_upload(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger() as s:
        buyer = await s.login("buyer")
        shipped = await s.order(buyer, mode="direct", qty=2)
        moved = await s.order(buyer, mode="direct", qty=2)
        for order in (shipped, moved):
            await s.pay(buyer, order["order_id"])
            await s.ship_to(buyer, order["order_id"])
        await s.ledger_caught_up()
        async with signed_in(s, "li.yun", "operator") as (client, csrf):
            page = await client.get("/console/warehouses")
            assert page.status_code == 200 and "上海仓" in page.text and "拣货单" in page.text
            picked = await client.get("/console/warehouses/shanghai/pick-list.csv")
            rows = list(csv.reader(io.StringIO(picked.text.lstrip("\ufeff"))))
            assert [r[0] for r in rows[1:]] == [shipped["order_id"], moved["order_id"], "合计"]
            assert rows[1][3] == "13812345678" and rows[-1][1] == "4"

            answer = await client.post(
                f"/console/orders/{moved['order_id']}/route",
                data={"csrf": csrf, "warehouse": "chengdu"},
            )
            assert answer.status_code == 303
            detail = await client.get(f"/console/orders/{moved['order_id']}")
            assert "成都仓 × 2" in detail.text and "漕溪北路 88 号" in detail.text

            bad = f"订单号,快递公司,运单号\n{shipped['order_id']},顺丰速运,SF12\n"
            refused = await client.post(
                "/console/warehouses/shipments",
                data={"csrf": csrf},
                files={"file": ("tracking.csv", bad.encode(), "text/csv")},
            )
            assert refused.status_code == 422
            assert "运单号格式与快递公司不符" in refused.text
            assert "整份文件都没有导入" in refused.text
            number = tracking_no("SF", 1)
            good = f"订单号,快递公司,运单号\n{shipped['order_id']},顺丰速运,{number}\n"
            done = await client.post(
                "/console/warehouses/shipments",
                data={"csrf": csrf},
                files={"file": ("tracking.csv", good.encode(), "text/csv")},
            )
            assert done.status_code == 200 and "已发货 1 单" in done.text
        async with signed_in(s, "qian.li", "finance") as (client, _):
            assert (await client.get("/console/warehouses")).status_code == 200
            picking = await client.get("/console/warehouses/shanghai/pick-list.csv")
            assert picking.status_code == 403
            detail = await client.get(f"/console/orders/{moved['order_id']}")
            assert "138****5678" in detail.text and "漕溪北路 88 号" not in detail.text
        assert not (await s.reconcile()).problems
