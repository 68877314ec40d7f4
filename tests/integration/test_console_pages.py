"""Console pages that move money or people, through the forms a browser posts: a refund
from an order's page (in the ledger and the audit log, with who did it), member tiers from a
CSV (all or nothing, every bad line named), the filtered order list and its CSV, the
distributors' list page by page and searched."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import orjson
import sqlalchemy as sa

from server.ledger.schema import audit_log, orders
from tests.campaigns import CANONICAL
from tests.integration.conftest import Serve
from tests.integration.test_console_roles import signed_in
from tests.server_harness import LiveServer, eventually


async def test_a_refund_from_the_orders_page_reaches_the_ledger_and_the_audit_log(
    serve_with_ledger: Serve,
) -> None:
    async with serve_with_ledger(CANONICAL) as s:
        buyer = await s.login("buyer")
        placed = await s.order(buyer, mode="direct", qty=2)
        await s.pay(buyer, placed["order_id"])
        other = await s.order(await s.login("other"), mode="presale", qty=1)
        oid = placed["order_id"]
        await s.ledger_caught_up()
        async with signed_in(s, "li.yun", "operator") as (client, csrf):
            listed = await client.get("/console/orders", params={"mode": "direct"})
            assert oid in listed.text and other["order_id"] not in listed.text
            page = await client.get(f"/console/orders/{oid}")
            assert page.status_code == 200 and "全额退款" in page.text
            answer = await client.post(
                f"/console/orders/{oid}/refund", data={"csrf": csrf, "reason": "客户改主意"}
            )
            assert answer.status_code == 303
            again = await client.post(f"/console/orders/{oid}/refund", data={"csrf": csrf})
            assert again.status_code == 409  # refunded once, never twice
            await s.ledger_caught_up()  # the export reads the ledger
            exported = await client.get("/console/orders.csv", params={"user": "buyer"})
            rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
            assert [r[0] for r in rows[1:]] == [oid, "合计"]
            assert rows[-1][6:9] == ["736.00", "736.00", "0.00"]
        await s.ledger_caught_up()
        gw = s.app.state.gateway
        async with gw.ledger.connect() as conn:
            row = (await conn.execute(sa.select(orders).where(orders.c.order_id == oid))).one()
        assert (row.status, row.paid_fen, row.refunded_fen) == ("refunded", 73_600, 73_600)

        async def refunds() -> list[sa.Row]:  # type: ignore[type-arg]
            async with gw.ledger.connect() as conn:
                query = sa.select(audit_log).where(audit_log.c.action == "order.refund")
                return list((await conn.execute(query)).all())

        (entry,) = await eventually(refunds, lambda found: len(found) == 1)
        assert (entry.actor, entry.role, entry.target) == ("li.yun", "operator", oid)
        assert "客户改主意" in entry.after and '"paid_fen":73600' in entry.before
        assert not (await s.reconcile()).problems


async def member_record(s: LiveServer, user: str) -> dict[str, Any] | None:
    gw = s.app.state.gateway
    raw = await gw.runtime.redis.hget(gw.identities.keys.users, user)
    return None if raw is None else dict(orjson.loads(raw))


async def test_a_member_csv_with_a_bad_line_imports_nothing_and_names_each_line(
    serve_with_ledger: Serve,
) -> None:
    async with serve_with_ledger(CANONICAL) as s:
        async with signed_in(s, "li.yun", "operator") as (client, csrf):
            bad = "user_id,member_tier\nu1,black-gold\nu 2,black-gold\nu3,platinum\n"
            answer = await client.post(
                "/console/members/import",
                data={"csrf": csrf},
                files={"file": ("members.csv", bad.encode(), "text/csv")},
            )
            assert answer.status_code == 422
            assert "第 3 行" in answer.text and "第 4 行" in answer.text
            assert "第 2 行" not in answer.text
            assert await member_record(s, "u1") is None  # nothing imported
            good = "user_id,member_tier\nu1,black-gold\nu2,\n"
            answer = await client.post(
                "/console/members/import",
                data={"csrf": csrf},
                files={"file": ("members.csv", good.encode(), "text/csv")},
            )
            assert answer.status_code == 200 and "已导入 2 位" in answer.text
        assert (await member_record(s, "u1") or {}).get("member_tier") == "black-gold"
        assert (await member_record(s, "u2") or {}).get("member_tier", "gone") is None


def _listed(page: str) -> list[str]:
    """The distributor codes in the page's list of all distributors, in order."""
    listed = page.split('id="distributor-search"', 1)[1]
    return re.findall(r'<tr><td><a href="/console/distributors/([A-Z0-9]+)">', listed)


async def test_the_distributors_list_pages_and_finds_by_code_or_user(
    serve_with_ledger: Serve,
) -> None:
    async with serve_with_ledger(CANONICAL) as s:
        codes = {}
        for i in range(55):
            user = f"fx{i:02d}"
            codes[user] = await s.become_distributor(await s.login(user))
        await s.ledger_caught_up()
        async with signed_in(s, "qian.fin", "finance") as (client, _):
            first = await client.get("/console/distributors")
            second = await client.get("/console/distributors", params={"page": "2"})
            assert first.status_code == second.status_code == 200
            assert len(_listed(first.text)) == 50 and len(_listed(second.text)) == 5
            assert set(_listed(first.text)) | set(_listed(second.text)) == set(codes.values())
            assert "page=2" in first.text and "page=3" not in second.text
            one = await client.get("/console/distributors", params={"q": codes["fx07"]})
            assert _listed(one.text) == [codes["fx07"]]
            tens = await client.get("/console/distributors", params={"q": "fx1", "page": "1"})
            assert sorted(_listed(tens.text)) == sorted(codes[f"fx1{i}"] for i in range(10))
            for bad in ({"q": "fx 1"}, {"page": "0"}, {"status": "gone"}, {"sort": "x"}):
                refused = await client.get("/console/distributors", params=bad)
                assert refused.status_code == 422, bad
                assert next(iter(bad)) in refused.text
