"""Campaign upload, the simulated clock, phases, and the presale reserve's return."""

from __future__ import annotations

from tests.campaigns import CANONICAL, campaign_text
from tests.integration.conftest import Serve

ORDERS = "/api/v1/campaigns/mid-autumn/orders"
CAMPAIGN = "/api/v1/campaigns/mid-autumn"


async def test_campaign_shows_phase_and_prices(serve: Serve) -> None:
    async with serve(CANONICAL) as s:
        c = (await s.client.get(CAMPAIGN)).json()
        assert c["phase"] == "presale" and c["open_modes"] == ["presale", "direct"]
        assert c["presale"]["deposit_fen"] == 5000 and c["sku"]["daily_price_fen"] == 36800
        stock = await s.stock()
        assert (stock["total"], stock["reserve"]["units"], stock["shared"]["units"]) == (
            10000,
            2000,
            8000,
        )


async def test_clock_moves_phases_and_returns_the_presale_reserve(serve: Serve) -> None:
    async with serve(campaign_text(100, 0, 0)) as s:
        h = await s.login("alice")
        presale_order = (
            await s.client.post(ORDERS, json={"mode": "presale", "qty": 2}, headers=h)
        ).json()
        await s.set_clock("2026-09-06T00:00:01+08:00")
        c = (await s.client.get(CAMPAIGN)).json()
        assert c["phase"] == "group" and c["balance_window_open"]
        pools = (await s.stock())["pools"]
        assert pools["presale"]["returned_to"] == "group"
        assert (pools["presale"]["remaining"], pools["presale"]["moved_out"]) == (0, 18)
        assert (pools["group"]["remaining"], pools["group"]["moved_in"]) == (68, 18)
        assert pools["presale"]["reserved"] == 2  # the deposit order keeps its units
        assert presale_order["status"] == "awaiting_payment"


async def test_clock_advance_and_speed(serve: Serve) -> None:
    async with serve() as s:
        before = (await s.client.get("/api/v1/clock")).json()
        r = await s.client.post(
            "/api/v1/ops/clock", json={"advance_s": 86400, "speed": 60}, headers=s.ops
        )
        assert r.status_code == 200 and r.json()["speed"] == 60
        assert r.json()["now"][:10] == "2026-09-02" and before["now"][:10] == "2026-09-01"


async def test_upload_makes_a_new_campaign_live(serve: Serve) -> None:
    async with serve() as s:
        text = campaign_text(500, campaign_id="flash-sale")
        r = await s.client.put(
            "/api/v1/ops/campaigns/flash-sale", content=text.encode(), headers=s.ops
        )
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 1
        assert (await s.stock("flash-sale"))["total"] == 500
        h = await s.login("bob")
        order = await s.client.post(
            "/api/v1/campaigns/flash-sale/orders", json={"mode": "presale", "qty": 1}, headers=h
        )
        assert order.status_code == 201 and order.json()["order_id"].startswith("flash-sale.")


async def test_pools_lock_once_orders_exist_but_prices_may_change(serve: Serve) -> None:
    async with serve(campaign_text(100, 0, 0)) as s:
        h = await s.login("alice")
        assert (
            await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=h)
        ).status_code == 201
        resized = campaign_text(200, 0, 0)
        r = await s.client.put(
            "/api/v1/ops/campaigns/mid-autumn", content=resized.encode(), headers=s.ops
        )
        assert r.status_code == 409 and r.json() == {
            "error": "stock_locked",
            "field": "stock.pools",
            "message": r.json()["message"],
        }
        assert (await s.stock())["total"] == 100
        repriced = (
            campaign_text(100, 0, 0)
            .replace("deposit_fen = 5000", "deposit_fen = 6000")
            .replace("balance_fen = 24800", "balance_fen = 23800")
        )
        r = await s.client.put(
            "/api/v1/ops/campaigns/mid-autumn", content=repriced.encode(), headers=s.ops
        )
        assert r.status_code == 200, r.text
        order = await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=h)
        assert order.json()["amount_due_fen"] == 6000


async def test_openapi_and_health(serve: Serve) -> None:
    async with serve() as s:
        doc = (await s.client.get("/openapi.json")).json()
        assert "/api/v1/campaigns/{cid}/orders" in doc["paths"]
        order_op = doc["paths"]["/api/v1/campaigns/{cid}/orders"]["post"]
        assert {"201", "409", "422", "503"} <= set(order_op["responses"])
        assert "OrderIn" in doc["components"]["schemas"]
        assert (await s.client.get("/healthz")).json() == {"status": "ok"}
        assert (await s.client.get("/readyz")).status_code == 200


async def test_session_idempotency(serve: Serve) -> None:
    async with serve() as s:
        headers = {"Idempotency-Key": "login-1"}
        a = await s.client.post("/api/v1/sessions", json={"user_id": "zoe"}, headers=headers)
        b = await s.client.post("/api/v1/sessions", json={"user_id": "zoe"}, headers=headers)
        assert a.status_code == b.status_code == 201 and a.json() == b.json()
        c = await s.client.post(
            "/api/v1/sessions",
            json={
                "user_id": "zoe",
            },
            headers={"Idempotency-Key": "login-2"},
        )
        assert c.status_code == 201
        mismatch = await s.client.post(
            "/api/v1/sessions", content=b'{"user_id": "zoe" }', headers=headers
        )
        assert mismatch.status_code == 422 and mismatch.json()["field"] == "Idempotency-Key"


async def test_a_changed_window_takes_effect_in_the_gateway_at_once(serve: Serve) -> None:
    async with serve(campaign_text(100, 0, 0)) as s:
        h = await s.login("alice")
        first = await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=h)
        assert first.status_code == 201, first.text
        # ops moves the presale's opening a day later: the presale is no longer open
        later = campaign_text(100, 0, 0).replace(
            "opens_at = 2026-09-01T00:00:00+08:00\nclose",
            "opens_at = 2026-09-02T00:00:00+08:00\nclose",
        )
        assert later != campaign_text(100, 0, 0)
        r = await s.client.put(
            "/api/v1/ops/campaigns/mid-autumn", content=later.encode(), headers=s.ops
        )
        assert r.status_code == 200, r.text
        refused = await s.client.post(ORDERS, json={"mode": "presale", "qty": 1}, headers=h)
        assert refused.status_code == 409 and refused.json()["error"] == "window_closed"


async def test_a_changed_borrowing_floor_takes_effect_in_the_gateway_at_once(
    serve: Serve,
) -> None:
    # 10 units: presale 2, group 5, distribution 3; direct orders draw on distribution and
    # may borrow group's units down to group's floor (0 here, then 5)
    async with serve(campaign_text(10, 0, 0)) as s:
        h = await s.login("alice")
        first = await s.client.post(ORDERS, json={"mode": "direct", "qty": 1}, headers=h)
        assert first.status_code == 201, first.text
        r = await s.client.put(
            "/api/v1/ops/campaigns/mid-autumn",
            content=campaign_text(10, 0, 5).encode(),
            headers=s.ops,
        )
        assert r.status_code == 200, r.text
        bob = await s.login("bob")
        three = await s.client.post(ORDERS, json={"mode": "direct", "qty": 3}, headers=bob)
        assert three.status_code == 409 and three.json()["error"] == "sold_out", three.text
        two = await s.client.post(ORDERS, json={"mode": "direct", "qty": 2}, headers=bob)
        assert two.status_code == 201, two.text


async def test_a_refused_upload_never_installs_anything(serve: Serve) -> None:
    """Numbers past their bounds, nesting thousands deep, returns in a cycle: each is a 422
    naming its field, and the running version stays the running version."""
    async with serve(campaign_text(100, 0, 0)) as s:
        before = (await s.client.get("/api/v1/campaigns/mid-autumn")).json()
        uploads = {
            "stock.pools[1].borrow[0].floor": campaign_text(100, 0, 0).replace(
                "floor = 0 ", "floor = 100000000000000000000000000000 ", 1
            ),
            None: "id = " + "[" * 5000 + "]" * 5000 + "\n",
            "stock.pools[1].returns_to": campaign_text(100, 0, 0).replace(
                "share_pct = 50\n", 'share_pct = 50\nreturns_to = "presale"\n', 1
            ),
        }
        for field, text in uploads.items():
            r = await s.client.put(
                "/api/v1/ops/campaigns/mid-autumn", content=text.encode(), headers=s.ops
            )
            assert r.status_code == 422, r.text
            assert field in {p["field"] for p in r.json()["problems"]}, r.json()
        after = await s.client.get("/api/v1/campaigns/mid-autumn")
        assert after.status_code == 200
        assert after.json()["version"] == before["version"]
        assert after.json()["stock"] == before["stock"]


async def test_a_mode_with_orders_cannot_be_left_out(serve: Serve) -> None:
    """One shared pool for group and direct: leaving direct out keeps the pools the same (so
    the stock lock allows it), but direct has orders: refused, the running version stays."""
    both = _one_shared_pool(campaign_text(100, 0, 0), '["group", "direct"]')
    async with serve(both) as s:
        await s.order(await s.login("alice"), mode="direct", qty=1)
        without_direct = _one_shared_pool(campaign_text(100, 0, 0), '["group"]')
        without_direct = (
            without_direct.split("[direct]")[0]
            + "[distribution]"
            + without_direct.split("[distribution]")[1]
        )
        r = await s.client.put(
            "/api/v1/ops/campaigns/mid-autumn", content=without_direct.encode(), headers=s.ops
        )
        assert r.status_code == 409 and r.json()["error"] == "mode_in_use", r.text
        assert (await s.client.get("/api/v1/campaigns/mid-autumn")).json()["direct"] is not None


def _one_shared_pool(text: str, modes: str) -> str:
    head = text.split("[[stock.pools]]")[0]
    return head + (
        '[[stock.pools]]\nname = "presale"\nkind = "reserve"\nmodes = ["presale"]\n'
        "share_pct = 20\n\n"
        f'[[stock.pools]]\nname = "shared"\nkind = "shared"\nmodes = {modes}\n'
        "share_pct = 80\n"
    )
