"""Drive whole order lives through a running liveroom's public API, as outside clients.

Viewers place presale, direct and group orders; most pay (the script plays the payment
provider, signing notices with LIVEROOM_PAYMENT_SECRET); some never pay and expire when
ops move the simulated clock; some pay after their order expired (refunded); ops refund
some paid orders. Afterwards, `liveroom reconcile` must be clean.

    python -m loadtest.lifecycle_run --base http://127.0.0.1:8000 --viewers 200
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from typing import Any

import aiohttp

from loadtest.client import Client, api_parser

Json = dict[str, Any]


async def viewer_life(client: Client, name: str, tally: Counter[str], late: list[Json]) -> None:
    headers = await client.login(name)
    luck = random.random()
    mode = random.choice(["presale", "direct", "direct"])
    order = await client.order(headers, {"mode": mode, "qty": random.randint(1, 2)})
    if order is None:
        tally["refused"] += 1
        return
    tally[f"placed {mode}"] += 1
    if luck < 0.1:
        tally["left unpaid"] += 1
        return
    payment = await client.open_payment(headers, order["order_id"])
    assert payment is not None
    if luck < 0.15:
        late.append(payment)  # pays only after the order has expired
        return
    tally[f"paid: {await client.notify(payment)}"] += 1
    if luck > 0.95:
        status, _ = await client.call(
            "POST", f"/api/v1/ops/orders/{order['order_id']}/refund", json={}, headers=client.ops
        )
        tally[f"ops refund {status}"] += 1


async def run(base: str, viewers: int, ops_token: str, payment_secret: str) -> int:
    random.seed(7)
    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=100)) as session:
        client = Client(session, ops_token, payment_secret)
        tally: Counter[str] = Counter()
        late: list[Json] = []
        run_id = os.urandom(3).hex()
        await asyncio.gather(
            *(viewer_life(client, f"life-{run_id}-{i}", tally, late) for i in range(viewers))
        )
        print(f"campaign time now {await client.advance(16 * 60)} (16 minutes later)")
        await asyncio.sleep(1.0)  # the worker's sweep expires the unpaid orders
        for payment in late:
            tally[f"late payment: {await client.notify(payment)}"] += 1
    for line, n in sorted(tally.items()):
        print(f"  {line}: {n}")
    print("now run: liveroom reconcile")
    return 0


def main() -> int:
    parser = api_parser(__doc__)
    parser.add_argument("--viewers", type=int, default=200)
    args = parser.parse_args()
    if not 1 <= args.viewers <= 100_000:
        parser.error("--viewers must be 1-100000")
    return asyncio.run(run(args.base, args.viewers, args.ops_token, args.payment_secret))


if __name__ == "__main__":
    raise SystemExit(main())
