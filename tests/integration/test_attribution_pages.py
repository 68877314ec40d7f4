"""The attribution report end to end: viewers arrive through a community post, a
distributor's link and a group's invite, buy in every mode; the console's 归因 page, its CSV
and the big screen's lines say what they did."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.integration.conftest import Serve
from tests.integration.test_console_roles import signed_in
from tests.server_harness import LiveServer

VISITS = "/api/v1/campaigns/mid-autumn/visits"


async def arrive(s: LiveServer, h: dict[str, str], kind: str = "view", **link: str) -> None:
    r = await s.client.post(VISITS, json={"kind": kind, **link}, headers=h)
    assert r.status_code == 200, r.text


async def test_the_report_follows_one_broadcast(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger() as s:
        dist = await s.become_distributor(await s.login("dist"))
        community = await s.community("幸福里小区群")
        amy, bo, cy, dan = [await s.login(n) for n in ("amy", "bo", "cy", "dan")]
        await arrive(s, amy, ref=community)  # saw the community's post first
        await arrive(s, amy, ref=dist)
        await arrive(s, amy, "click", ref=dist)
        deposit = await s.order(amy, mode="presale", qty=1, ref=dist)
        await s.pay(amy, deposit["order_id"])
        plain = await s.order(bo, mode="presale", qty=1)
        await s.pay(bo, plain["order_id"])

        await s.set_clock("2026-09-06T10:00:00+08:00")  # the offer opens by itself
        await s.pay(amy, deposit["order_id"])  # the balance
        extra = await s.order(amy, mode="group", qty=1, offer="depositor_group")
        await s.pay(amy, extra["order_id"])
        led = await s.order(cy, mode="group", qty=1, open_group=True)
        await s.pay(cy, led["order_id"])
        await arrive(s, dan, group=led["group_code"])
        joined = await s.order(dan, mode="group", qty=1, group_code=led["group_code"])
        await s.pay(dan, joined["order_id"])
        await s.ledger_caught_up()

        async with signed_in(s, "qian.li", "finance") as (client, _):
            page = (await client.get("/console/attribution")).text
            csv_text = (await client.get("/console/attribution.csv")).text
        assert 'id="depositors-in-groups">1 / 2<' in page  # amy, of amy and bo
        assert 'id="group-via-distributors">1 / 3<' in page  # amy, of amy, cy and dan
        rows = list(csv.reader(io.StringIO(csv_text.lstrip("\ufeff"))))
        assert rows[0] == ["部分", "项目", "指标", "数值"]
        figures = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}
        stages = ("浏览", "下单", "付款", "尾款已付")
        # amy's presale (balance paid) and her depositor box, both last touched by the link
        assert [figures[("渠道漏斗", "分销员链接", k)] for k in stages] == ["1", "2", "2", "1"]
        assert [figures[("渠道漏斗", "社群链接", k)] for k in ("浏览", "下单")] == ["1", "0"]
        assert [figures[("渠道漏斗", "拼团邀请", k)] for k in ("浏览", "下单", "付款")] == [
            "1",
            "1",
            "1",
        ]
        assert figures[("渠道漏斗", "直接进入", "下单")] == "2"  # bo and cy
        # cy opened, dan joined (amy's depositor box is in no group of people)
        assert figures[("拼团", "团购意向报名（开团或参团的人）", "")] == "2"
        assert figures[("分销员", "活跃分销员（有付款订单）", "")] == "1"
        # amy's money is the community's by first touch: deposit, balance (¥238) and a box
        assert figures[("GMV（按首次来源，元）", "社群链接", "")] == "576.00"

        api = (
            await s.client.get(
                "/api/v1/ops/reports/attribution?campaign_id=mid-autumn", headers=s.ops
            )
        ).json()
        assert api["overlap"]["depositors_in_groups_rate"] == 0.5
        (distributor_channel,) = [f for f in api["channels"] if f["source"] == "distributor"]
        assert distributor_channel["orders"] == 2 and distributor_channel["order_rate"] == 2.0
        assert api["gmv_by_first_touch"]["community"] == 57_600
        assert api["gmv_fen"] == sum(api["gmv_by_mode"].values())
        nobody = await s.client.get("/api/v1/ops/reports/attribution?campaign_id=mid-autumn")
        assert nobody.status_code == 401

        token = await s.screen_token()
        screen = await s.client.get(f"/api/v1/campaigns/mid-autumn/attribution?token={token}")
        lines: dict[str, Any] = screen.json()
        assert (lines["depositors"], lines["depositors_in_groups"]) == (2, 1)
        assert (lines["group_buyers"], lines["group_via_distributors"]) == (3, 1)
        assert lines["gmv_by_first_touch"]["community"] == 57_600
        refused = await s.client.get("/api/v1/campaigns/mid-autumn/attribution?token=nope")
        assert refused.status_code == 401
