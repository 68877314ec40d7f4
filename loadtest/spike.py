"""The 开抢 spike, rehearsed against a running liveroom through its public API only.

Uploads a throwaway campaign (a fresh id, N units, the canonical rules) with the ops token,
logs in many viewers, opens a live feed, then releases factor x N single-unit order
attempts at one moment (in the modes open now, at most --concurrency in flight) and ends in
a verdict:

- accepted == the units the pools gave (no oversell), and no mode that was refused
  `sold_out` could still have been served when the spike ended (no undersell);
- every accepted order is in the ledger exactly once and nothing else is (no lost,
  duplicated or phantom order), and reconcile (Redis against the ledger) is clean;
- no 5xx, no answer other than 201 / 409 sold_out / 409 limit_reached;
- with several gateways (--also, once per further gateway: the attempts go round-robin
  over them), every gateway's live feed shows the final stock and its seq advances;
- and the figures: attempts/s, accepted/s, p50/p99 per outcome, time to sell out, and
  feed lag (last accepted order -> the live feed showing the final stock; the slowest
  gateway's).

    python -m loadtest.spike --base http://127.0.0.1:8000 --units 2000 --factor 10
    python -m loadtest.spike --base http://10.0.0.1:8000 --also http://10.0.0.2:8000 ...
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, cast

import aiohttp
import orjson

from loadtest.client import Client, Json, api_parser, snapshots
from server.domain.buckets import keyspace_of
from server.domain.campaign import MAX_BUCKETS, Mode, parse_campaign
from server.domain.campaign_file import with_buckets, with_total_units
from server.domain.pools import available, plan_for

ANSWERS = {(201, "accepted"), (409, "sold_out"), (409, "limit_reached")}


def spike_campaign(campaign_id: str, units: int, buckets: int = 1) -> str:
    text = resources.files("server").joinpath("campaigns", "mid-autumn.toml").read_text("utf-8")
    text = text.replace('id = "mid-autumn"', f'id = "{campaign_id}"')
    text = with_total_units(text, units)
    return with_buckets(text, buckets) if buckets > 1 else text


@dataclass
class Attempt:
    mode: str
    status: int
    outcome: str  # "accepted" or the error code
    order_id: str | None
    latency_ms: float
    done_at: float


@dataclass
class Feed:
    """(arrival, remaining, seq) for every snapshot of one gateway's live feed."""

    seen: list[tuple[float, int, int]] = field(default_factory=list)

    async def watch(self, session: aiohttp.ClientSession, url: str, stop: asyncio.Event) -> None:
        async with session.ws_connect(url, compress=0) as ws:
            async for arrival, body in snapshots(ws, stop):
                self.seen.append((arrival, body["stock"]["remaining"], body["seq"]))

    def first_showing(self, remaining: int) -> float | None:
        return next((at for at, shown, _ in self.seen if shown == remaining), None)

    @property
    def advanced(self) -> bool:
        return len({seq for _, _, seq in self.seen}) > 1


async def run(
    client: Client,
    bases: list[str],
    units: int,
    factor: int,
    concurrency: int,
    settle_s: float,
    mark: Callable[[str], Awaitable[None]] | None = None,
    buckets: int = 1,
) -> dict[str, Any]:
    """bases: every gateway's address, the client's own first. mark, if given, is awaited
    at "go" (开抢), "answered" (every attempt answered) and "settled" (the ledger caught up),
    for a caller that measures each phase."""
    mark = mark or _no_mark
    campaign_id = f"spike-{uuid.uuid4().hex[:8]}"
    text = spike_campaign(campaign_id, units, buckets)
    status, campaign = await client.call(
        "PUT", f"/api/v1/ops/campaigns/{campaign_id}", data=text, headers=client.ops
    )
    assert status == 200, campaign
    modes = campaign["open_modes"]
    if not modes:
        raise SystemExit(f"no mode is open at campaign time {campaign['now']}")
    await _known_everywhere(client, bases, campaign_id)
    stock_url = f"/api/v1/campaigns/{campaign_id}/stock"
    _, before = await client.call("GET", stock_url)
    viewers = units * factor // 4 + 1  # enough that per-user limits never bind
    gate = asyncio.Semaphore(concurrency)

    async def login(i: int) -> dict[str, str]:
        async with gate:
            return await client.login(f"{campaign_id}-v{i}")

    tokens = await asyncio.gather(*(login(i) for i in range(viewers)))
    feeds, feed_stop = [Feed() for _ in bases], asyncio.Event()
    watchers = [
        asyncio.create_task(
            feed.watch(client.session, base.replace("http", "ws", 1) + path, feed_stop)
        )
        for feed, base in zip(feeds, bases, strict=True)
        for path in [f"/ws/live/{campaign_id}"]
    ]
    await asyncio.sleep(0.5)
    go = asyncio.Event()  # 开抢: every attempt waits for the same moment
    urls = [f"{base}/api/v1/campaigns/{campaign_id}/orders" for base in bases]

    async def attempt(i: int) -> Attempt:
        mode = modes[i % len(modes)]
        body: Json = {"mode": mode, "qty": 1, **({"open_group": True} if mode == "group" else {})}
        await go.wait()
        async with gate:
            started = time.perf_counter()
            url = urls[i % len(urls)]  # round-robin, as a load balancer would
            status, answer = await client.call("POST", url, json=body, headers=tokens[i % viewers])
            done = time.perf_counter()
        outcome = "accepted" if status == 201 else str(answer.get("error"))
        latency = (done - started) * 1000
        return Attempt(mode, status, outcome, answer.get("order_id"), latency, done)

    tasks = [asyncio.create_task(attempt(i)) for i in range(units * factor)]
    await asyncio.sleep(0.1)
    await mark("go")
    started = time.perf_counter()
    go.set()
    attempts = await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    await mark("answered")
    _, after = await client.call("GET", stock_url)
    await asyncio.sleep(1.0)  # the feed's next snapshots
    feed_stop.set()
    await asyncio.gather(*watchers)
    ledger_ids, reconciled = await _ledger(client, campaign_id, settle_s)
    await mark("settled")
    return verdict(
        text, campaign_id, before, after, attempts, elapsed, started, feeds, ledger_ids, reconciled
    )


async def _known_everywhere(client: Client, bases: list[str], campaign_id: str) -> None:
    """The campaign was uploaded through the first gateway; the others load it on their
    next refresh (a fraction of a second)."""
    deadline = time.monotonic() + 10
    for base in bases:
        while (await client.call("GET", f"{base}/api/v1/campaigns/{campaign_id}"))[0] != 200:
            if time.monotonic() > deadline:
                raise SystemExit(f"{base} does not know campaign {campaign_id} after 10 s")
            await asyncio.sleep(0.1)


async def _no_mark(phase: str) -> None:
    return None


async def _ledger(client: Client, campaign_id: str, settle_s: float) -> tuple[list[str], Json]:
    """Wait for the worker to write everything (reconcile clean), then list the ledger."""
    deadline = time.monotonic() + settle_s
    while True:
        status, report = await client.call(
            "GET", f"/api/v1/ops/reconcile?campaign_id={campaign_id}", headers=client.ops
        )
        if (status == 200 and report["clean"]) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)
    ids: list[str] = []
    while True:
        status, page = await client.call(
            "GET",
            f"/api/v1/ops/orders?campaign_id={campaign_id}&limit=500&offset={len(ids)}",
            headers=client.ops,
        )
        assert status == 200, page
        ids += [order["order_id"] for order in page["orders"]]
        if len(page["orders"]) < 500:
            return ids, report


def verdict(
    campaign_text: str,
    campaign_id: str,
    before: Json,
    after: Json,
    attempts: list[Attempt],
    elapsed: float,
    started: float,
    feeds: list[Feed],
    ledger_ids: list[str],
    reconciled: Json,
) -> dict[str, Any]:
    outcomes = Counter((a.status, a.outcome) for a in attempts)
    accepted = [a for a in attempts if a.status == 201]
    accepted_ids = [a.order_id for a in accepted if a.order_id]
    held = sum(p["reserved"] + p["sold"] for p in after["pools"].values())
    campaign = parse_campaign(campaign_text)
    remaining = {name: p["remaining"] for name, p in after["pools"].items()}
    refused_modes = {a.mode for a in attempts if a.outcome == "sold_out"}
    still_available = {
        mode: available(plan_for(campaign, cast(Mode, mode)), remaining) for mode in refused_modes
    }
    problems = []
    if any(status >= 500 for status, _ in outcomes):
        problems.append("5xx answers")
    if set(outcomes) - ANSWERS:
        problems.append(f"unexpected answers: {sorted(set(outcomes) - ANSWERS)}")
    if len(accepted) != held or after["remaining"] + held != before["total"]:
        problems.append(f"oversell: accepted {len(accepted)}, pools hold {held}")
    if any(still_available.values()):
        problems.append(f"undersell: refused sold_out while available {still_available}")
    lost = set(accepted_ids) - set(ledger_ids)
    phantom = set(ledger_ids) - set(accepted_ids)
    duplicated = (len(accepted_ids) - len(set(accepted_ids))) + (
        len(ledger_ids) - len(set(ledger_ids))
    )
    if lost or phantom or duplicated:
        problems.append(f"ledger: {len(lost)} lost, {len(phantom)} phantom, {duplicated} dup")
    if not reconciled.get("clean"):
        problems.append(f"reconcile: {reconciled.get('problems', [])[:3]}")
    last_accepted = max((a.done_at for a in accepted), default=started)
    shown_at = [feed.first_showing(after["remaining"]) for feed in feeds]
    never = [i for i, at in enumerate(shown_at) if at is None]
    still = [i for i, feed in enumerate(feeds) if not feed.advanced]
    if len(feeds) > 1 and (never or still):
        problems.append(f"feeds: gateways {never} never showed the final stock, {still} stood")
    shown = None if never or not feeds else max(cast(list[float], shown_at))
    return {
        "campaign_id": campaign_id,
        "units": before["total"],
        "order_keyspaces": sorted({keyspace_of(oid) for oid in accepted_ids}),  # stock buckets
        "attempts": len(attempts),
        "answers": {f"{s} {o}": n for (s, o), n in sorted(outcomes.items())},
        "accepted": len(accepted),
        "pools_gave": held,
        "ledger_orders": len(ledger_ids),
        "attempts_per_s": round(len(attempts) / elapsed),
        "accepted_per_s": round(len(accepted) / (last_accepted - started or 1)),
        "latency_ms": _latencies(attempts),
        "time_to_sell_out_s": round(last_accepted - started, 3),
        "gateways": len(feeds),
        "feed_lag_ms": round((shown - last_accepted) * 1000, 1) if shown else None,
        "reconcile": reconciled.get("summary"),
        "problems": problems,
        "verdict": "PASS" if not problems else "FAIL",
    }


def _latencies(attempts: list[Attempt]) -> dict[str, dict[str, float]]:
    by_outcome: dict[str, list[float]] = {}
    for a in attempts:
        kind = a.outcome if a.outcome in ("accepted", "sold_out") else "rejected"
        by_outcome.setdefault(kind, []).append(a.latency_ms)
    return {kind: percentiles(values) for kind, values in by_outcome.items()}


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100) if len(values) > 1 else values * 99
    return {"n": len(values), "p50": round(cuts[49], 1), "p99": round(cuts[98], 1)}


def report(result: dict[str, Any]) -> str:
    lines = [
        f"campaign {result['campaign_id']}: {result['attempts']} attempts for "
        f"{result['units']} units, {result['attempts_per_s']}/s",
        *(f"  {answer}: {n}" for answer, n in result["answers"].items()),
        f"  accepted {result['accepted']}, pools gave {result['pools_gave']}, "
        f"ledger holds {result['ledger_orders']}",
        f"  sold out after {result['time_to_sell_out_s']} s "
        f"({result['accepted_per_s']} accepted/s); feed lag {result['feed_lag_ms']} ms "
        f"(the slowest of {result['gateways']} gateways' feeds)",
        *(
            f"  {kind}: n={v['n']} p50 {v['p50']} ms, p99 {v['p99']} ms"
            for kind, v in result["latency_ms"].items()
        ),
        f"  reconcile: {result['reconcile']}",
        "verdict: " + result["verdict"] + "".join(f"\n  - {p}" for p in result["problems"]),
    ]
    return "\n".join(lines)


def main() -> int:
    parser = api_parser(__doc__)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--factor", type=int, default=10, help="attempts per unit")
    parser.add_argument("--concurrency", type=int, default=256, help="attempts in flight")
    parser.add_argument("--settle", type=float, default=60.0, help="seconds to wait for the ledger")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--also", action="append", default=[], help="a further gateway (repeat for each)"
    )
    parser.add_argument("--buckets", type=int, default=1, help="stock buckets (1-16)")
    args = parser.parse_args()
    if not 1 <= args.buckets <= MAX_BUCKETS:
        parser.error(f"--buckets must be 1-{MAX_BUCKETS}")
    if not 1 <= args.units <= 1_000_000 or not 1 <= args.factor <= 100:
        parser.error("--units must be 1-1000000 and --factor 1-100")
    if not 1 <= args.concurrency <= 10_000:
        parser.error("--concurrency must be 1-10000")

    async def go() -> dict[str, Any]:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(args.base, connector=connector) as session:
            client = Client(session, args.ops_token, args.payment_secret)
            bases = [args.base, *args.also]
            return await run(
                client,
                bases,
                args.units,
                args.factor,
                args.concurrency,
                args.settle,
                buckets=args.buckets,
            )

    result = asyncio.run(go())
    print(
        orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() if args.json else report(result)
    )
    return 0 if result["verdict"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
