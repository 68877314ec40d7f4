"""Orders after reservation: payments, group closing, fulfilment, deadlines, and reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from server.domain.lifecycle import Stage, status_after, status_before
from server.domain.shipping import LogisticsEvent
from server.store.keys import CampaignKeys, CampaignKeyspaces
from server.store.scripts import Scripts
from server.store.stock import Order, decode, text

Payment = dict[str, Any]

INBOX_KEEPS = 100  # a viewer's newest notices kept per campaign
VISITS_KEPT_S = 2 * 86_400  # a day's who-visited set outlives its day, then goes

# The stage transitions as settle_payment.lua reads them: "deposit:awaiting_payment>...".
TRANSITIONS = ";".join(
    f"{stage}:{status_before(stage)}>{status_after(stage)}"
    for stage in ("deposit", "balance", "full")
)


@dataclass(frozen=True)
class Answer:
    """A script's answer: a code, and the payment, order or group it concerns."""

    code: str
    record: dict[str, Any] | None


def answer_of(code: bytes | str, record: bytes | str) -> Answer:
    return Answer(text(code), decode(record) if record else None)


class OrderStore:
    """A campaign's orders wherever they are: each order, its payments, requests and
    deadlines in the keyspace its id names (a stock bucket's, or the campaign's own:
    `keys`), and what is campaign-wide (groups, notices, links) in the campaign's own."""

    def __init__(
        self, redis: Redis, scripts: Scripts, spaces: CampaignKeys | CampaignKeyspaces
    ) -> None:
        self._redis = redis
        self._scripts = scripts
        if isinstance(spaces, CampaignKeys):
            spaces = CampaignKeyspaces((spaces,))
        self.spaces = spaces
        self.keys = self.spaces.home

    async def open_payment(
        self,
        now_ms: int,
        order_id: str,
        user: str,
        payment_id: str,
        stage: Stage,
        amount_fen: int,
        provider: str = "sandbox",
    ) -> Answer:
        k = self.spaces.of_order(order_id)
        code, record = await self._scripts.open_payment(
            keys=[k.orders, k.payments, k.stream],
            args=[
                now_ms,
                order_id,
                user,
                payment_id,
                stage,
                amount_fen,
                status_before(stage),
                provider,
            ],
        )
        return answer_of(code, record)

    async def settle_payment(
        self,
        now_ms: int,
        payment_id: str,
        amount_fen: int,
        outcome: str,
        balance_due_ms: int,
        provider: str = "sandbox",
    ) -> Answer:
        k = self.spaces.of_payment(payment_id)
        code, record = await self._scripts.settle_payment(
            keys=[
                k.orders,
                k.payments,
                k.pools,
                k.deadlines,
                k.stream,
                k.counters,
                k.groups,
                k.leaders,
                k.depositors,
            ],
            args=[now_ms, payment_id, amount_fen, outcome, balance_due_ms, TRANSITIONS, provider],
        )
        return answer_of(code, record)

    async def close_group(
        self, now_ms: int, code: str, paid_needed: int, fill: int, tiers: str
    ) -> Answer:
        """Close a group; `fill`: most missing members auto-completion may fill;
        `tiers`: "min_members:price_fen,..." rising."""
        k = self.keys
        result, record = await self._scripts.close_group(
            keys=[k.groups, k.deadlines, k.stream, k.counters, k.progress],
            args=[now_ms, code, paid_needed, fill, tiers],
        )
        return answer_of(result, record)

    async def adjust_group_price(self, now_ms: int, order_id: str, deadline: str) -> Answer:
        k = self.spaces.of_order(order_id)
        result, record = await self._scripts.adjust_group_price(
            keys=[k.orders, k.groups, k.deadlines, k.stream, k.counters],
            args=[now_ms, order_id, deadline],
        )
        return answer_of(result, record)

    async def fulfil(
        self,
        now_ms: int,
        order_id: str,
        status: str,
        required: str,
        *,
        aftersale_due_ms: int | None = None,
        warehouse: str = "",
        deadline: str = "",
        shipment: tuple[str, str] = ("", ""),
    ) -> Answer:
        """One fulfilment step; `shipment`: the carrier and tracking number it ships with."""
        k = self.spaces.of_order(order_id)
        due = "" if aftersale_due_ms is None else aftersale_due_ms
        code, record = await self._scripts.fulfil(
            keys=[k.orders, k.deadlines, k.stream, k.warehouses],
            args=[now_ms, order_id, status, required, due, warehouse, deadline, *shipment],
        )
        return answer_of(code, record)

    async def correct_shipment(
        self, now_ms: int, order_id: str, carrier: str, tracking_no: str
    ) -> Answer:
        k = self.spaces.of_order(order_id)
        code, record = await self._scripts.correct_shipment(
            keys=[k.orders, k.stream], args=[now_ms, order_id, carrier, tracking_no]
        )
        return answer_of(code, record)

    async def logistics_event(
        self, now_ms: int, order_id: str, event: LogisticsEvent, aftersale_due_ms: int
    ) -> Answer:
        k = self.spaces.of_order(order_id)
        code, record = await self._scripts.logistics_event(
            keys=[k.orders, k.deadlines, k.stream, k.logistics_seen],
            args=[
                now_ms,
                order_id,
                event.carrier,
                event.tracking_no,
                event.event_id,
                event.status,
                event.at_ms,
                event.text,
                aftersale_due_ms,
            ],
        )
        return answer_of(code, record)

    async def set_address(
        self, now_ms: int, order_id: str, user: str, address_id: str, region: str
    ) -> Answer:
        """Where the order ships: only before it is routed (see set_address.lua)."""
        k = self.spaces.of_order(order_id)
        code, record = await self._scripts.set_address(
            keys=[k.orders, k.stream], args=[now_ms, order_id, user, address_id, region]
        )
        return answer_of(code, record)

    async def open_after_sale(
        self, now_ms: int, order_id: str, user: str, request_id: str, request: dict[str, Any]
    ) -> Answer:
        k = self.spaces.of_order(order_id)
        code, record = await self._scripts.open_after_sale(
            keys=[k.orders, k.deadlines, k.stream, k.after_sales],
            args=[now_ms, order_id, user, request_id, orjson.dumps(request).decode()],
        )
        return answer_of(code, record)

    async def decide_after_sale(
        self,
        now_ms: int,
        order_id: str,
        request_id: str,
        approve: bool,
        given: tuple[int, int, int],
        decision: dict[str, Any],
    ) -> Answer:
        """`given`: the refund in fen, the units it is for, how many come back to stock."""
        k = self.spaces.of_order(order_id)
        refund, units, restock = given
        code, record = await self._scripts.decide_after_sale(
            keys=[
                k.pools,
                k.orders,
                k.deadlines,
                k.stream,
                k.counters,
                k.warehouses,
                k.leaders,
                k.after_sales,
            ],
            args=[
                now_ms,
                order_id,
                request_id,
                "approve" if approve else "reject",
                refund,
                units,
                restock,
                orjson.dumps(decision).decode(),
            ],
        )
        return answer_of(code, record)

    async def after_sale(self, request_id: str) -> dict[str, Any] | None:
        for keys in self.spaces.buckets:  # kept beside its order
            raw = await self._redis.hget(keys.after_sales, request_id)
            if raw:
                return decode(raw)
        return None

    async def due(self, now_ms: int, limit: int = 200) -> list[str]:
        """Deadlines that have come: "pay:<order>", "group:<code>", ..."""
        found: list[str] = []
        for keys in self.spaces.buckets:
            members = await self._redis.zrangebyscore(keys.deadlines, "-inf", now_ms, 0, limit)
            found += [text(m) for m in members if isinstance(m, bytes | str)]
        return found

    async def open_depositor_offer(self, now_ms: int, banner: str) -> Answer:
        k = self.keys
        code, count = await self._scripts.open_depositor_offer(
            keys=[k.meta, k.stream, k.counters],
            args=[now_ms, k.feed_channel, banner, await self.depositor_count()],
        )
        return Answer(text(code), {"depositors": int(count)})

    async def notifications(self, user: str) -> tuple[list[dict[str, Any]], int]:
        """The user's notifications (newest last) and up to when they have read them."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(self.keys.notifications, user)
            pipe.hget(self.keys.notifications_read, user)
            raw, read = await pipe.execute()
        found = orjson.loads(raw) if raw else []
        return (found if isinstance(found, list) else []), int(read or 0)

    async def deliver_notices(self, notices: list[tuple[str, str, bytes, str]]) -> int:
        """(key, user, notice JSON, the viewer's feed tag) into the inboxes, each once;
        returns how many were new."""
        if not notices:
            return 0
        args: list[str | bytes | int] = [self.keys.feed_channel, INBOX_KEEPS]
        for key, user, notice, tag in notices:
            args += [key, user, notice, tag]
        new = await self._scripts.deliver_notices(
            keys=[self.keys.notifications, self.keys.notices_delivered], args=args
        )
        return int(new)

    async def record_visit(self, now_ms: int, user: str, source: str, kind: str, day: str) -> bool:
        """A view or click through a share link; whether it counted (once a day each)."""
        k = self.keys
        answer = await self._scripts.record_visit(
            keys=[k.visits_seen(day), k.link_stats, k.touches, k.stream],
            args=[now_ms, user, source, kind, day, VISITS_KEPT_S],
        )
        own = self.spaces.of_buyer(user, "direct")
        if own != k:  # the buyer's own bucket places their orders and reads their touches
            touches = await self._redis.hget(k.touches, user)
            if touches is not None:
                await self._redis.hset(own.touches, user, touches)
        return text(answer) == "counted"

    async def link_stats(self, sources: list[str]) -> dict[str, dict[str, int]]:
        """Views and clicks counted for each source."""
        fields = [f"{source}|{kind}" for source in sources for kind in ("view", "click")]
        counts = await self._redis.hmget(self.keys.link_stats, fields) if fields else []
        found: dict[str, dict[str, int]] = {source: {} for source in sources}
        for name, n in zip(fields, counts, strict=True):
            source, _, kind = name.rpartition("|")
            found[source][kind] = int(n or 0)
        return found

    async def mark_read(self, user: str, up_to_ms: int) -> None:
        await self._redis.hset(self.keys.notifications_read, user, up_to_ms)

    async def push_notice(self, notice: dict[str, Any]) -> None:
        """The live rooms' banner: kept as the latest notice and sent on the live feed. An
        empty text takes the banner down."""
        encoded = orjson.dumps(notice)
        async with self._redis.pipeline(transaction=True) as pipe:
            if notice["text"]:
                pipe.hset(self.keys.meta, "notice", encoded)
            else:
                pipe.hdel(self.keys.meta, "notice")
            pipe.spublish(self.keys.feed_channel, encoded)
            await pipe.execute()

    async def placed_by_mode(self) -> dict[str, int]:
        """Orders ever placed in each mode (the scripts' counters)."""
        modes = ("presale", "group", "direct")
        placed = dict.fromkeys(modes, 0)
        for keys in self.spaces.buckets:
            counts = await self._redis.hmget(keys.counters, [f"orders.{m}" for m in modes])
            for mode, n in zip(modes, counts, strict=True):
                placed[mode] += int(n or 0)
        return placed

    async def count(self, metric: str, by: int = 1) -> None:
        """Bump a live metric the scripts cannot see (e.g. a depositor converted)."""
        await self._redis.hincrby(self.keys.counters, metric, by)

    async def depositors(self) -> list[str]:
        found: set[str] = set()
        for keys in self.spaces.buckets:  # each buyer's in the bucket of their deposit
            found |= {text(u) for u in await self._redis.smembers(keys.depositors)}
        return sorted(found)

    async def depositor_count(self) -> int:
        return sum([int(await self._redis.scard(k.depositors)) for k in self.spaces.buckets])

    def depositors_key(self, user: str) -> str:
        """The set that says whether this buyer paid a deposit (their presale bucket's)."""
        return self.spaces.of_buyer(user, "presale").depositors

    def leaders_keys(self) -> list[str]:
        """Units paid through each link, one set per keyspace: a link's volume is the sum."""
        return [keys.leaders for keys in self.spaces.buckets]

    async def deadline(self, member: str) -> int | None:
        """When something scheduled is due (campaign ms), if it is."""
        at = await self._redis.zscore(self.spaces.of_deadline(member).deadlines, member)
        return None if at is None else int(at)

    async def screen_goals(self) -> tuple[int, int | None]:
        """The big screen's GMV target (fen, 0: none) and 开抢 moment (campaign ms)."""
        target, kaiqiang = await self._redis.hmget(
            self.keys.meta, ["screen.target_fen", "screen.kaiqiang_at_ms"]
        )
        return int(target or 0), int(kaiqiang) if kaiqiang else None

    async def depositor_offer_open(self) -> bool:
        return bool(await self._redis.hget(self.keys.meta, "depositor_offer"))

    async def depositor_offer_opened_at(self) -> int | None:
        """When the depositor offer opened (campaign ms), if it has."""
        at = await self._redis.hget(self.keys.meta, "depositor_offer")
        return None if at is None else int(at)

    async def counter(self, metric: str) -> int:
        return sum(
            [int(await self._redis.hget(k.counters, metric) or 0) for k in self.spaces.buckets]
        )

    async def schedule(self, member: str, at_ms: int) -> None:
        """Something to do at a moment of campaign time, made by the worker's sweep."""
        await self._redis.zadd(self.spaces.of_deadline(member).deadlines, {member: at_ms})

    async def drop_deadline(self, member: str) -> None:
        await self._redis.zrem(self.spaces.of_deadline(member).deadlines, member)

    async def payment(self, payment_id: str) -> Payment | None:
        raw = await self._redis.hget(self.spaces.of_payment(payment_id).payments, payment_id)
        return None if raw is None else decode(raw)

    async def group(self, code: str) -> dict[str, Any] | None:
        raw = await self._redis.hget(self.keys.groups, code)
        return None if raw is None else decode(raw)

    async def open_groups(self, most: int = 50) -> list[dict[str, Any]]:
        """Open groups, the fullest first (the progress set the scripts keep)."""
        found = await self._redis.zrevrange(self.keys.progress, 0, most - 1)
        codes = [text(c) for c in found if isinstance(c, bytes | str)]
        if not codes:
            return []
        raws = await self._redis.hmget(self.keys.groups, codes)
        return [decode(raw) for raw in raws if raw is not None]

    async def orders_of(self, user: str) -> list[Order]:
        found: list[Order] = []
        for keys in self.spaces.of_buyer_everywhere(user):
            ids = await self._redis.hget(keys.user_orders, user)
            if ids:
                raws = await self._redis.hmget(keys.orders, text(ids).split(","))
                found += [decode(raw) for raw in raws if raw is not None]
        return sorted(found, key=lambda order: int(order.get("created_at_ms", 0)))
