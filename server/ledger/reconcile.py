"""`liveroom reconcile`: prove that Redis's hot state equals the ledger plus the stream
entries it has not consumed yet, and that every cent adds up.

Redis is read in one MULTI (pools, orders, the stream's unconsumed entries), which fixes
a cutoff: the newest stream id. The ledger's event log up to that cutoff plus the
unconsumed entries is replayed into a projection, which must match Redis exactly:
  - the same orders, each reserved exactly once, with the same status, units and money;
  - per pool, reserved/sold/borrowed/lent recomputed from the orders' allocations;
  - no unit lost: remaining + reserved + sold = quota over all pools;
  - per order: paid = Σ its payments, refunded = Σ its refunds, paid = refunded + kept;
  - refunds at the provider: each booked refund planned whole or not yet, no payment
    sending back more than it took (domain/refunds.py);
  - payouts through the provider: each transfer for its payout's amount, each refused one
    given back to the balance exactly once (domain/payouts.py);
  - per warehouse: free + allocated + shipped = stock, free never below zero, allocated and
    shipped recomputed from the orders' routes; every routed order's route adds up to its
    units, and every order past "paid" that a warehouse should ship has a route.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain import refunds as refund_rules
from server.domain.buckets import KEYSPACE_MARK, keyspace_of, ledger_entry_id
from server.domain.commission import OWED, Line, next_lines
from server.domain.lifecycle import expected_kept_fen
from server.ledger import payout_outbox, refund_outbox
from server.ledger.apply import json_object, stream_position
from server.ledger.consumer import GROUP
from server.ledger.schema import commissions, order_events
from server.store.buckets import Loan, loans_in_flight
from server.store.keys import CampaignKeys, CampaignKeyspaces
from server.store.stock import parse_pools, text
from server.telemetry import RECONCILE_AT, RECONCILE_PROBLEMS

Fields = dict[str, str]
_COMPARED = (
    "status", "held", "qty", "alloc", "paid_fen", "refunded_fen", "user", "mode", "route",
    "region", "shipment", "aftersale_fen", "aftersale_units", "restocked",
)  # fmt: skip
_ROUTED = ("allocated", "shipped", "delivered", "completed")


@dataclass
class Report:
    campaign_id: str
    orders: int = 0
    unconsumed: int = 0
    paid_fen: int = 0
    refunded_fen: int = 0
    kept_fen: int = 0
    commission_fen: int = 0
    # refunds at the provider: done, still on their way (or not yet planned), refused
    refund_sent_fen: int = 0
    refund_open_fen: int = 0
    refund_refused_fen: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def merchant_net_fen(self) -> int:
        return self.kept_fen - self.commission_fen

    def summary(self) -> str:
        verdict = "clean" if not self.problems else f"{len(self.problems)} mismatches"
        return (
            f"{self.campaign_id}: {self.orders} orders ({self.unconsumed} entries not yet in "
            f"the ledger); paid {self.paid_fen} = refunded {self.refunded_fen} + commissions "
            f"{self.commission_fen} + merchant net {self.merchant_net_fen} fen; refunds at "
            f"the provider: {self.refund_sent_fen} done, {self.refund_open_fen} under way, "
            f"{self.refund_refused_fen} refused; {verdict}"
        )


@dataclass
class _Projection:
    orders: dict[str, tuple[tuple[int, int], dict[str, Any]]] = field(default_factory=dict)
    payments: dict[str, tuple[tuple[int, int], dict[str, Any]]] = field(default_factory=dict)
    reservations: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    refunds: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))

    def apply(self, stream_id: str, fields: Fields) -> None:
        position = stream_position(stream_id)
        if order := json_object(fields.get("order")):
            self._newest(self.orders, order["id"], position, order)
            if fields.get("type") == "reserved":
                self.reservations[order["id"]].add(stream_id)
        if payment := json_object(fields.get("payment")):
            self._newest(self.payments, payment["id"], position, payment)
        if int(fields.get("refund_fen", 0)) > 0:
            self.refunds[fields["order_id"]][stream_id] = int(fields["refund_fen"])

    @staticmethod
    def _newest(
        into: dict[str, tuple[tuple[int, int], dict[str, Any]]],
        key: str,
        position: tuple[int, int],
        value: dict[str, Any],
    ) -> None:
        if key not in into or into[key][0] < position:
            into[key] = (position, value)


async def reconcile(
    redis: Redis, engine: AsyncEngine, spaces: CampaignKeys | CampaignKeyspaces
) -> Report:
    """A campaign with stock buckets is read one keyspace after another (each in one
    MULTI, with its own cutoff): its orders and pools bucket by bucket, its money whole."""
    if isinstance(spaces, CampaignKeys):
        spaces = CampaignKeyspaces((spaces,))
    campaign_id = spaces.home.campaign_id
    report = Report(campaign_id)
    # Redis first, the ledger after: an entry the worker applies in between is then in the
    # ledger, where read the other way round it would be in neither
    snapshots = [(keys.campaign_id, await _redis_snapshot(redis, keys)) for keys in spaces.buckets]
    events = await _ledger_events(engine, campaign_id)
    projection = _Projection()
    redis_orders: dict[str, dict[str, Any]] = {}
    bucket_pools: dict[str, dict[str, dict[str, int]]] = {}
    bucket_houses: dict[str, dict[str, dict[str, int]]] = {}
    for keyspace, (pools, orders, unconsumed, cutoff, houses) in snapshots:
        for stream_id, fields in events:
            if _of_keyspace(stream_id, keyspace) and stream_position(stream_id) <= cutoff:
                projection.apply(stream_id, fields)
        for stream_id, fields in unconsumed:
            projection.apply(ledger_entry_id(stream_id, keyspace), fields)
        report.unconsumed += len(unconsumed)
        redis_orders.update(orders)
        bucket_pools[keyspace] = pools
        if houses:
            bucket_houses[keyspace] = houses
    report.orders = len(redis_orders)
    _check_orders(report, projection, redis_orders)
    _check_units(report, projection, bucket_pools, bucket_houses)
    if len(spaces) > 1:
        _check_loans(report, bucket_pools, await loans_in_flight(redis, spaces))
    _check_money(report, projection)
    if not report.unconsumed:  # commission lines are written as entries are applied
        _check_commissions(report, projection, await _ledger_lines(engine, campaign_id))
    _check_refund_sends(report, await refund_outbox.totals(engine, campaign_id))
    # payouts belong to the one user pool, not a campaign: checked with every campaign's
    report.problems.extend(await payout_outbox.problems(engine))
    RECONCILE_PROBLEMS.labels(campaign_id).set(len(report.problems))  # for /metrics
    RECONCILE_AT.labels(campaign_id).set_to_current_time()
    return report


def _check_units(
    report: Report,
    projection: _Projection,
    bucket_pools: dict[str, dict[str, dict[str, int]]],
    bucket_houses: dict[str, dict[str, dict[str, int]]],
) -> None:
    """Every keyspace's pools and warehouses against its own orders."""
    for keyspace, pools in bucket_pools.items():
        _check_pools(report, projection, pools, keyspace)
    for keyspace, houses in bucket_houses.items():
        _check_warehouses(report, projection, houses, keyspace)


def _of_keyspace(ledger_id: str, keyspace: str) -> bool:
    """Whether a ledger entry id came from this keyspace's stream (ledger_entry_id)."""
    _, mark, n = keyspace.partition(KEYSPACE_MARK)
    _, entry_mark, entry_n = ledger_id.partition(KEYSPACE_MARK)
    return (mark, n) == (entry_mark, entry_n)


async def _redis_snapshot(
    redis: Redis, keys: CampaignKeys
) -> tuple[
    dict[str, dict[str, int]],
    dict[str, dict[str, Any]],
    list[tuple[str, Fields]],
    tuple[int, int],
    dict[str, dict[str, int]],
]:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hgetall(keys.pools)
        pipe.hgetall(keys.orders)
        pipe.xrange(keys.stream)
        pipe.xpending_range(keys.stream, GROUP, min="-", max="+", count=1_000_000)
        pipe.xinfo_groups(keys.stream)
        pipe.xinfo_stream(keys.stream)
        pipe.hgetall(keys.warehouses)
        raw_pools, raw_orders, entries, pending, groups, info, raw_houses = await pipe.execute(
            raise_on_error=False
        )
    pools = parse_pools(raw_pools)
    orders = {text(k): orjson.loads(v) for k, v in raw_orders.items()}
    stream = [(text(i), {text(k): text(v) for k, v in f.items()}) for i, f in entries]
    # Ledger events up to the last entry ever added count, even when the worker has trimmed
    # the stream to nothing; later ones happened after this snapshot.
    cutoff = (0, 0) if isinstance(info, ResponseError) else _last_added(info)
    houses: dict[str, dict[str, int]] = defaultdict(dict)
    for name, value in raw_houses.items():
        code, dot, counter = text(name).rpartition(".")
        if dot:
            houses[code][counter] = int(value)
    return pools, orders, _unconsumed(stream, pending, groups), cutoff, dict(houses)


def _last_added(info: dict[str, Any]) -> tuple[int, int]:
    return stream_position(text(info["last-generated-id"]))


def _unconsumed(
    stream: list[tuple[str, Fields]], pending: Any, groups: Any
) -> list[tuple[str, Fields]]:
    if isinstance(groups, ResponseError):  # no stream yet
        return []
    ledger = [g for g in groups if text(g["name"]) == GROUP]
    if not ledger:
        return stream  # no worker has ever read: nothing is in the ledger yet
    delivered = stream_position(text(ledger[0]["last-delivered-id"]))
    pending_ids = {text(p["message_id"]) for p in pending} if isinstance(pending, list) else set()
    return [(i, f) for i, f in stream if i in pending_ids or stream_position(i) > delivered]


async def _ledger_events(engine: AsyncEngine, campaign_id: str) -> list[tuple[str, Fields]]:
    query = select(order_events.c.stream_id, order_events.c.data).where(
        order_events.c.campaign_id == campaign_id
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [(row.stream_id, orjson.loads(row.data)) for row in rows]


async def _ledger_lines(engine: AsyncEngine, campaign_id: str) -> dict[str, dict[int, Line]]:
    query = select(commissions).where(commissions.c.campaign_id == campaign_id)
    lines: dict[str, dict[int, Line]] = defaultdict(dict)
    async with engine.connect() as conn:
        for row in await conn.execute(query):
            lines[row.order_id][row.level] = Line(
                row.level, row.distributor, row.base_fen, row.rate_bp, row.amount_fen, row.state
            )
    return lines


def _check_commissions(
    report: Report, projection: _Projection, lines: dict[str, dict[int, Line]]
) -> None:
    """Stored lines must equal a fresh computation from the order, and only pending,
    frozen or settled commission is owed: paid = refunded + commissions + merchant net."""
    for oid, (_, order) in sorted(projection.orders.items()):
        stored = lines.get(oid, {})
        expected = {line.level: line for line in next_lines(order, stored)}
        if expected != stored:
            report.problems.append(
                f"order {oid}: commission lines {sorted(stored.values(), key=str)} in the ledger, "
                f"{sorted(expected.values(), key=str)} by the rules"
            )
        owed = sum(line.amount_fen for line in stored.values() if line.state in OWED)
        report.commission_fen += owed
    if report.merchant_net_fen < 0:
        report.problems.append(f"commissions {report.commission_fen} exceed what was kept")


def _check_orders(
    report: Report, projection: _Projection, redis_orders: dict[str, dict[str, Any]]
) -> None:
    projected = {oid: order for oid, (_, order) in projection.orders.items()}
    for oid in sorted(redis_orders.keys() - projected.keys()):
        report.problems.append(f"order {oid}: in Redis but in neither the ledger nor the stream")
    for oid in sorted(projected.keys() - redis_orders.keys()):
        report.problems.append(f"order {oid}: in the ledger but not in Redis")
    for oid in sorted(redis_orders.keys() & projected.keys()):
        reservations = len(projection.reservations.get(oid, ()))
        if reservations != 1:
            report.problems.append(f"order {oid}: reserved {reservations} times in the ledger")
        for name in _COMPARED:
            if redis_orders[oid].get(name) != projected[oid].get(name):
                report.problems.append(
                    f"order {oid}: {name} is {redis_orders[oid].get(name)!r} in Redis, "
                    f"{projected[oid].get(name)!r} in ledger + stream"
                )


def _check_pools(
    report: Report, projection: _Projection, pools: dict[str, dict[str, int]], keyspace: str
) -> None:
    """One keyspace's pools against its orders' allocations."""
    expected: dict[str, Counter[str]] = defaultdict(Counter)
    at = "" if keyspace == report.campaign_id else f" of bucket {keyspace}"
    for oid, (_, order) in projection.orders.items():
        if order["held"] == "none" or keyspace_of(oid) != keyspace:
            continue
        for source, units in order["alloc"]:
            expected[source][order["held"]] += units
            if source != order["pool"]:
                expected[order["pool"]]["borrowed"] += units
                expected[source]["lent"] += units
    for pool, counters in sorted(pools.items()):
        for counter in ("reserved", "sold", "borrowed", "lent"):
            if counters.get(counter, 0) != expected[pool][counter]:
                report.problems.append(
                    f"pool {pool}{at}: {counter} is {counters.get(counter, 0)} in Redis, "
                    f"{expected[pool][counter]} from ledger + stream"
                )
    held = sum(
        c.get("remaining", 0) + c.get("reserved", 0) + c.get("sold", 0) for c in pools.values()
    )
    quota = sum(c.get("quota", 0) for c in pools.values())
    lent = sum(c.get("received", 0) - c.get("sent", 0) for c in pools.values())
    if held != quota + lent:
        loans = f" + received - sent {lent}" if lent else ""
        report.problems.append(
            f"units lost{at}: remaining + reserved + sold = {held}, quota {quota}{loans}"
        )
    moved_in = sum(c.get("moved_in", 0) for c in pools.values())
    moved_out = sum(c.get("moved_out", 0) for c in pools.values())
    if moved_in != moved_out:
        report.problems.append(f"units moved in{at} {moved_in} != moved out {moved_out}")


def _check_loans(
    report: Report, bucket_pools: dict[str, dict[str, dict[str, int]]], flying: list[Loan]
) -> None:
    """Every unit a bucket sent is in another bucket, or in a loan on its way."""
    sent: Counter[str] = Counter()
    received: Counter[str] = Counter()
    for pools in bucket_pools.values():
        for pool, counters in pools.items():
            sent[pool] += counters.get("sent", 0)
            received[pool] += counters.get("received", 0)
    for loan in flying:
        received.update(loan.units)
    for pool in sorted(sent.keys() | received.keys()):
        if sent[pool] != received[pool]:
            report.problems.append(
                f"pool {pool}: buckets sent {sent[pool]} units, received {received[pool]} "
                f"(loans on their way: {sum(loan.units.get(pool, 0) for loan in flying)})"
            )


def _check_warehouses(
    report: Report, projection: _Projection, houses: dict[str, dict[str, int]], keyspace: str
) -> None:
    """One keyspace's warehouse units (a stock bucket's share) against its orders' routes."""
    at = "" if keyspace == report.campaign_id else f" of bucket {keyspace}"
    allocated: Counter[str] = Counter()
    shipped: Counter[str] = Counter()
    for oid, (_, order) in sorted(projection.orders.items()):
        if keyspace_of(oid) != keyspace:
            continue
        report.problems += _route_problems(oid, order)
        left = any(status == "shipped" for status, _ in order["history"])
        for code, units in order.get("route") or []:
            if left:
                shipped[code] += units
            elif not order["ended"]:
                allocated[code] += units
        for code, units in order.get("restocked") or []:  # back from the buyer, in stock
            shipped[code] -= units
    for code, level in sorted(houses.items()):
        stock, free, out = level.get("stock", 0), level.get("free", 0), level.get("shipped", 0)
        if free < 0:
            report.problems.append(f"warehouse {code}{at}: {free} units free")
        if stock - free - out != allocated[code] or out != shipped[code]:
            report.problems.append(
                f"warehouse {code}{at}: allocated {stock - free - out}, shipped {out} in Redis; "
                f"{allocated[code]} and {shipped[code]} from the orders' routes"
            )


def _route_problems(oid: str, order: dict[str, Any]) -> list[str]:
    route = order.get("route") or []
    problems = []
    if route and sum(units for _, units in route) != order["qty"]:
        problems.append(f"order {oid}: routed {route} for {order['qty']} units")
    if not order["ended"] and order["status"] in _ROUTED and not route:
        problems.append(f"order {oid}: {order['status']} without a warehouse")
    return problems


def _check_refund_sends(report: Report, totals: refund_outbox.Totals) -> None:
    """Each booked refund is sent whole or not yet planned; no payment gives back more than
    it took; no send without its booked refund."""
    for stream_id, (booked, planned) in sorted(totals.booked_vs_planned.items()):
        if planned not in (0, booked):
            report.problems.append(
                f"refund {stream_id}: booked {booked} but its sends plan {planned}"
            )
    for pid, (took, back) in sorted(totals.payment_vs_planned.items()):
        if back > took:
            report.problems.append(f"payment {pid}: took {took} but {back} is sent back")
    for refund_id in totals.unbooked:
        report.problems.append(f"refund send {refund_id}: no booked refund")
    report.refund_sent_fen = totals.fen_by_state.get("succeeded", 0)
    report.refund_open_fen = sum(totals.fen_by_state.get(s, 0) for s in refund_rules.OPEN)
    report.refund_refused_fen = totals.fen_by_state.get("refused", 0)


def _check_money(report: Report, projection: _Projection) -> None:
    paid_by_order: Counter[str] = Counter()
    for _, payment in projection.payments.values():
        if payment["status"] in ("succeeded", "refunded"):
            paid_by_order[payment["order_id"]] += payment["amount_fen"]
    for oid, (_, order) in sorted(projection.orders.items()):
        paid, refunded = order["paid_fen"], order["refunded_fen"]
        refunds = sum(projection.refunds.get(oid, {}).values())
        kept = expected_kept_fen(order)
        if paid != paid_by_order[oid]:
            report.problems.append(
                f"order {oid}: paid {paid} but its payments sum to {paid_by_order[oid]}"
            )
        if refunded != refunds:
            report.problems.append(
                f"order {oid}: refunded {refunded} but its refunds sum to {refunds}"
            )
        if paid != refunded + kept:
            report.problems.append(
                f"order {oid} ({order['status']}): paid {paid} != refunded {refunded} + kept {kept}"
            )
        report.paid_fen += paid
        report.refunded_fen += refunded
        report.kept_fen += paid - refunded
