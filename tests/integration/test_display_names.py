"""A distributor's display name on the big screen's leaderboard: set and cleared by the
distributor, checked like any input, and shown instead of their masked id."""

from __future__ import annotations

from tests.campaigns import CANONICAL
from tests.integration.conftest import Serve

NAME = "/api/v1/distributors/me/display-name"


async def test_the_leaderboard_shows_a_chosen_name_or_a_masked_id(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger(CANONICAL) as s:
        sharer, other = await s.login("sharer-7"), await s.login("quiet-one")
        codes = []
        for who in (sharer, other):
            code = await s.become_distributor(who)
            codes.append(code)
            buyer = await s.login(f"buyer-of-{code}")
            order = await s.order(buyer, mode="direct", qty=1, ref=code)
            await s.pay(buyer, order["order_id"])
        refused = await s.client.put(
            NAME, json={"display_name": "x"}, headers=await s.login("nobody")
        )
        assert refused.status_code == 404
        for bad in ("", " ", "十三个字十三个字十三个字十", "a\nb", "<b>hi</b>", 7):
            answer = await s.client.put(NAME, json={"display_name": bad}, headers=sharer)
            assert answer.status_code == 422 and answer.json()["field"] == "display_name", bad
        answer = await s.client.put(NAME, json={"display_name": " 月饼达人 "}, headers=sharer)
        assert answer.status_code == 200 and answer.json()["display_name"] == "月饼达人"
        me = await s.client.get("/api/v1/distributors/me", headers=sharer)
        assert me.status_code == 200, me.text
        assert me.json()["display_name"] == "月饼达人"

        hub = s.app.state.gateway.hubs.for_campaign("mid-autumn")
        top = {d["code"]: d["name"] for d in (await hub.figures())["distributors"]["top"]}
        assert top == {codes[0]: "月饼达人", codes[1]: "qu***ne"}

        cleared = await s.client.put(NAME, json={"display_name": None}, headers=sharer)
        assert cleared.status_code == 200 and cleared.json()["display_name"] is None
        assert (await s.client.get("/api/v1/distributors/me", headers=sharer)).json()[
            "display_name"
        ] is None
