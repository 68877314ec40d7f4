"""Run the seed article's worked example and a tiered group through a running liveroom's
public API, then print what the ledger says (via the API) next to what the rules expect.

  1. A and B become distributors, B under A. C buys a presale box through B's link and pays
     the deposit: nobody earns yet. In the balance window C pays the balance: B earns
     level 1 (15% of ¥298) and A level 2 (5%). C then opens a group through a community
     link and pays: B earns nothing more.
  2. Ten viewers form one group and pay ¥328 each; when it closes at 10 paid members the
     price is ¥308, and each is refunded ¥20.

Needs a demo-like server (simulated clock, demo login) whose clock is in presale; the
script moves the clock. Afterwards `liveroom reconcile` must be clean.

    python -m loadtest.marketing_run --base http://127.0.0.1:8000
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime
from typing import Any

import aiohttp

from loadtest.client import Client, api_parser

Json = dict[str, Any]
PRESALE_OPENS = datetime.fromisoformat("2026-09-01T00:00:00+08:00")
PRESALE_CLOSES = datetime.fromisoformat("2026-09-06T00:00:00+08:00")


async def _wait(check: Any, seconds: float = 15) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.2)


async def _paid(client: Client, headers: dict[str, str], order: Json) -> None:
    payment = await client.open_payment(headers, order["order_id"])
    assert payment is not None, order
    assert await client.notify(payment) == "succeeded"


async def _commission(client: Client, headers: dict[str, str]) -> Json:
    status, body = await client.call("GET", "/api/v1/distributors/me", headers=headers)
    assert status == 200, body
    return {k: v["amount_fen"] for k, v in body["commissions"].items() if v["lines"]}


async def worked_example(client: Client, run: str) -> list[str]:
    a, b, c = [await client.login(f"{run}-{n}") for n in "ABC"]
    _, code_a = await client.call("POST", "/api/v1/distributors", json={}, headers=a)
    _, code_b = await client.call(
        "POST", "/api/v1/distributors", json={"upline": code_a["code"]}, headers=b
    )
    presale = await client.order(c, {"mode": "presale", "qty": 1, "ref": code_b["code"]})
    assert presale is not None
    await _paid(client, c, presale)
    await asyncio.sleep(1)
    lines = [
        f"after C's deposit: B {await _commission(client, b)}, A {await _commission(client, a)}"
    ]
    await client.call(
        "POST", "/api/v1/ops/clock", json={"set": "2026-09-06T10:00:00+08:00"}, headers=client.ops
    )
    place = {"recipient": "丙", "phone": "13800000003", "province": "310000", "district": "310104"}
    _, address = await client.call(
        "POST", "/api/v1/me/addresses", json={**place, "street": "漕溪北路 1 号"}, headers=c
    )
    await client.call(  # a presale ships somewhere: chosen at the latest with the balance
        "PUT",
        f"/api/v1/orders/{presale['order_id']}/address",
        json={"address_id": address["id"]},
        headers=c,
    )
    await _paid(client, c, presale)  # the balance
    b_after = await _wait(lambda: _commission(client, b))
    lines.append(f"after C's balance: B {b_after}, A {await _commission(client, a)}")
    _, community = await client.call(
        "POST", "/api/v1/ops/communities", json={"name": "C的小区"}, headers=client.ops
    )
    group = await client.order(
        c, {"mode": "group", "qty": 1, "open_group": True, "ref": community["code"]}
    )
    assert group is not None
    await _paid(client, c, group)
    await asyncio.sleep(1)
    lines.append(f"after C's community group order: B {await _commission(client, b)}")
    lines.append("expected: B {'pending': 4470}, A {'pending': 1490}; nothing before the balance")
    return lines


async def tiered_group(client: Client, run: str) -> list[str]:
    members = [await client.login(f"{run}-t{i}") for i in range(10)]
    first = await client.order(members[0], {"mode": "group", "qty": 1, "open_group": True})
    assert first is not None
    orders = [first]
    for headers in members[1:]:
        joined = await client.order(
            headers, {"mode": "group", "qty": 1, "group_code": first["group_code"]}
        )
        assert joined is not None
        orders.append(joined)
    for headers, order in zip(members, orders, strict=True):
        await _paid(client, headers, order)
    await client.advance(86_401)

    async def refunds() -> list[int] | None:
        found = []
        for headers, order in zip(members, orders, strict=True):
            _, mine = await client.call("GET", "/api/v1/me/orders", headers=headers)
            found += [
                o["refunded_fen"] for o in mine["orders"] if o["order_id"] == order["order_id"]
            ]
        return found if all(found) else None

    got = await _wait(refunds)
    _, group = await client.call("GET", f"/api/v1/groups/{first['group_code']}")
    return [
        f"group {first['group_code']}: {group['status']}, {group['paid']} paid, "
        f"price {group['price_fen']} fen",
        f"refunds per member (fen): {got}  (expected ten times 2000)",
    ]


async def run(base: str, ops_token: str, payment_secret: str) -> int:
    async with aiohttp.ClientSession(base) as session:
        client = Client(session, ops_token, payment_secret)
        _, clock = await client.call("GET", "/api/v1/clock")
        now = datetime.fromisoformat(clock["now"])
        if not PRESALE_OPENS <= now < PRESALE_CLOSES:
            print(f"the clock must be in presale (now {clock['now']})", file=sys.stderr)
            return 2
        tag = f"mk{os.urandom(2).hex()}"
        for line in await worked_example(client, tag) + await tiered_group(client, tag):
            print(line)
    print("now run: liveroom reconcile; liveroom report")
    return 0


def main() -> int:
    args = api_parser(__doc__).parse_args()
    return asyncio.run(run(args.base, args.ops_token, args.payment_secret))


if __name__ == "__main__":
    raise SystemExit(main())
