"""One hub per campaign in each gateway process.

A single task reads Redis whenever the campaign's order stream moves (only while someone
listens), turns what it reads into one snapshot per kind of feed, encodes it once per format
as a complete websocket frame, and writes the same bytes to every subscriber's connection
(see wire.py). Each kind has its own pace: big screens at most 10 times a second, live rooms
(thousands of phones, where a stock figure half a second old reads the same) at most twice.
A slow screen is skipped until it has read what it was sent, so it always gets the latest
snapshot and never holds the others back; one that falls too far behind is closed.
Every process reads the same Redis, so any number of gateways show the same numbers;
`seq` is the campaign's data version (entries ever added to its order stream), the same
in every process, so a client that reconnects elsewhere resumes where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgpack
import orjson
from redis.asyncio import Redis

from server.domain.phases import phase
from server.feeds.buckets import (
    TOP_READ,
    newest_entries,
    read_other_buckets,
    summed_counts,
    summed_pools,
    top_leaders,
)
from server.feeds.metrics import Raw, dashboard, live
from server.feeds.screen_facts import next_moments, recent_order, tier_progress
from server.feeds.wire import Connection, data_frame
from server.gateway.screen_tokens import ScreenGrant
from server.runtime import LiveCampaign, Runtime
from server.store.connection import REDIS_OUTAGES
from server.store.keys import IdentityKeys
from server.store.stock import decode, parse_pools, text
from server.telemetry import FEED_LAG

log = logging.getLogger("liveroom.feeds")

# The shortest time between two snapshots of a kind: big screens 10 Hz, live rooms 2 Hz
INTERVAL_S = {"dashboard": 0.1, "live": 0.5}
REFRESH_S = 1.0  # a kind's snapshot is sent again this often when nothing changed (rates, clock)
NEXT_CHANGE_S = 0.5  # the longest wait for the stream (counters it does not carry refresh)
_EARLY_S = 0.01  # a tick that wakes a hair before its pace still counts (else it waits a tick)
SCREEN_CHECK_S = 2.0  # how soon a revoked or expired screen token loses its feed
KINDS = ("dashboard", "live")
POLICY_VIOLATION = 1008

Revoked = Callable[[list[str]], Awaitable[set[str]]]  # which of these grant ids are revoked
Labels = Callable[[list[str]], Awaitable[dict[str, str]]]  # distributors' names on the wall
LABELS_FRESH_S = 5.0  # a name a distributor changes reaches the wall within this


@dataclass(frozen=True)
class Frames:
    """One message as two complete websocket frames: JSON text and msgpack binary."""

    text: bytes
    binary: bytes


@dataclass(eq=False, slots=True)
class Subscriber:
    kind: str  # "dashboard" or "live"
    binary: bool
    connection: Connection
    group: str | None = None
    grant: ScreenGrant | None = None  # a big screen's: checked while it stays

    def deliver(self, frames: Frames) -> bool:
        return self.connection.deliver(frames.binary if self.binary else frames.text)


VIEWERS_EVERY_S = 2.0  # how often a gateway says how many live rooms it serves
VIEWERS_FRESH_MS = 10_000  # a gateway silent longer than this counts no viewers
RECENT_SHOWN = 10
_PROCESS = f"{socket.gethostname()}:{os.getpid()}"


class CampaignHub:
    def __init__(
        self, runtime: Runtime, live_campaign: LiveCampaign, revoked: Revoked, labels: Labels
    ) -> None:
        self._runtime = runtime
        self._live = live_campaign
        self._revoked = revoked
        self._labels = labels
        self._known: dict[str, str] = {}  # the leaderboard's names, read now and then
        self._known_at = 0.0
        self._by_kind: dict[str, set[Subscriber]] = {kind: set() for kind in KINDS}
        self._screens: set[Subscriber] = set()  # those with a screen token
        self._task: asyncio.Task[None] | None = None
        self._notices: asyncio.Task[None] | None = None
        self._accepted: deque[tuple[float, int]] = deque(maxlen=20)
        self._rate = 0.0
        self._last: dict[str, Frames] = {}  # the newest snapshot frame of each kind
        self.tick = 0

    async def join(
        self,
        kind: str,
        binary: bool,
        connection: Connection,
        group: str | None = None,
        grant: ScreenGrant | None = None,
    ) -> Subscriber:
        """A new subscriber, greeted with the latest snapshot; `leave` when it goes. (Not a
        context manager: one stays open per connection all broadcast, and costs memory.)"""
        subscriber = Subscriber(kind, binary, connection, group, grant)
        self._by_kind[kind].add(subscriber)
        if grant is not None:
            self._screens.add(subscriber)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"hub-{self._live.campaign.id}")
            self._notices = asyncio.create_task(self._relay_notices())
        try:
            await self._greet(subscriber)
        except BaseException:
            self.leave(subscriber)
            raise
        return subscriber

    async def figures(self) -> dict[str, Any]:
        """The big screen's figures read now (for the console's desk; starts no feed)."""
        return dashboard(await self._read(for_screen=True), self._rate)

    def leave(self, subscriber: Subscriber) -> None:
        self._by_kind[subscriber.kind].discard(subscriber)
        self._screens.discard(subscriber)

    async def stop(self) -> None:
        for task in (self._task, self._notices):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, *REDIS_OUTAGES):
                    await task

    async def _run(self) -> None:
        sent: dict[str, tuple[int, float]] = {}  # kind -> its last snapshot's version, time
        last_check, last_count = time.monotonic(), 0.0
        last_entry: str | None = None  # the newest stream entry the feeds showed
        while self._listened():
            started = time.monotonic()
            if started - last_check >= SCREEN_CHECK_S:
                await self._check_screens()
                last_check = started
            if started - last_count >= VIEWERS_EVERY_S:
                await self._count_viewers()
                last_count = started
            try:
                raw = await self._read()
            except REDIS_OUTAGES as exc:
                log.warning("feed read failed: %s", exc)
                await asyncio.sleep(1)
                continue
            kinds = [kind for kind in KINDS if self._by_kind[kind]]
            due = [
                kind for kind in kinds if snapshot_due(kind, sent.get(kind), raw.version, started)
            ]
            if due:
                self._fan_out(raw, kinds=due)
                sent.update(dict.fromkeys(due, (raw.version, started)))
                if last_entry is not None and raw.last_id != last_entry:  # (not the old ones)
                    FEED_LAG.observe(_age_s(raw.last_id))
                last_entry = raw.last_id
            pace = min((INTERVAL_S[kind] for kind in kinds), default=REFRESH_S)
            await asyncio.sleep(max(0.0, pace - (time.monotonic() - started)))
            # Wait for the stream to move, but no longer than until a kind that still owes
            # its snapshot (live rooms between their ticks) may have it.
            owed = [
                sent[kind][1] + INTERVAL_S[kind] - time.monotonic()
                for kind in kinds
                if kind in sent and sent[kind][0] != raw.version
            ]
            wait_s = min(owed, default=NEXT_CHANGE_S)
            if wait_s > _EARLY_S:
                await self._next_change(raw.last_id, wait_s)
        self._last.clear()  # nobody listens: the cache would go stale

    def _listened(self) -> bool:
        return any(self._by_kind.values())

    def _everyone(self) -> list[Subscriber]:
        return [s for subscribers in self._by_kind.values() for s in subscribers]

    def subscriber_kinds(self) -> list[str]:
        """The kind of every feed open on this hub ("live", "dashboard", ...)."""
        return [subscriber.kind for subscriber in self._everyone()]

    async def _count_viewers(self) -> None:
        """This process's live-room feeds, for every gateway's big screen to add up."""
        live_rooms = len(self._by_kind["live"])
        with contextlib.suppress(*REDIS_OUTAGES):
            await self._runtime.redis.hset(
                self._live.stock.keys.viewers, _PROCESS, f"{live_rooms}:{int(time.time() * 1000)}"
            )

    async def _check_screens(self) -> None:
        """Big screens whose token was revoked or has expired lose their feed (1008)."""
        if not self._screens:
            return
        try:
            revoked = await self._revoked(sorted({s.grant.id for s in self._screens if s.grant}))
        except REDIS_OUTAGES as exc:
            log.warning("screen token check failed: %s", exc)
            return
        now = time.time()
        for subscriber in list(self._screens):
            grant = subscriber.grant
            if grant is not None and (grant.id in revoked or grant.expired(now)):
                self.leave(subscriber)
                subscriber.connection.drop("screen token revoked or expired", POLICY_VIOLATION)

    async def _next_change(self, last_id: str, wait_s: float) -> None:
        """Block until the order stream moves past last_id, or wait_s passes (at most half a
        second: rates and counters the stream does not carry still refresh). Pushed, not
        polled: an order reaches the feeds as soon as their pace allows. (A campaign with
        stock buckets wakes on its own keyspace's stream; a cluster blocks on one slot.)"""
        with contextlib.suppress(*REDIS_OUTAGES):
            await self._runtime.redis.xread(
                {self._live.stock.keys.stream: last_id}, count=1, block=int(wait_s * 1000)
            )

    async def _greet(self, subscriber: Subscriber) -> None:
        """A newcomer gets the latest snapshot at once: the cached frame when there is one,
        so thousands connecting at 开抢 do not each read Redis."""
        cached = self._last.get(subscriber.kind)
        if cached is not None:
            subscriber.deliver(cached)
            return
        with contextlib.suppress(*REDIS_OUTAGES):
            self._fan_out(await self._read(), only=subscriber)

    def _fan_out(
        self, raw: Raw, kinds: Collection[str] = KINDS, only: Subscriber | None = None
    ) -> None:
        self.tick += 1
        campaign = self._live.campaign
        now = self._runtime.clock.now()
        head = {
            "seq": raw.version,
            "tick": self.tick,
            "server_time": time.time(),
            "campaign_id": campaign.id,
            "campaign_time": now.astimezone(ZoneInfo(campaign.timezone)).isoformat(),
            "phase": phase(campaign, now),
        }
        if only is None:
            targets = [s for kind in kinds for s in self._by_kind[kind]]
            # a greeting is no sample of the order rate
            self._rate = self._orders_per_second(raw.counters.get("orders.accepted", 0))
        else:
            targets, kinds = [only], [only.kind]
        views = {"dashboard": lambda: self._dashboard(raw, now), "live": lambda: live(raw)}
        frames = {
            kind: _encode({"type": "snapshot", **head, **views[kind]()})
            for kind in kinds
            if kind in views
        }
        if only is None:
            self._last.update(frames)
        self._deliver(targets, frames)

    def _dashboard(self, raw: Raw, now: datetime) -> dict[str, Any]:
        """The big screen's snapshot, with what the campaign's rules add to it."""
        campaign = self._live.campaign
        body = dashboard(raw, self._rate)
        for group in body["groups"]["leading"]:
            group.update(tier_progress(campaign, group["members"]))
        body["moments"] = next_moments(campaign, now)
        return body

    def _deliver(self, targets: list[Subscriber], frames: Mapping[str, Frames]) -> None:
        """Write each subscriber its kind's frame; close the ones too far behind."""
        for subscriber in targets:
            if not subscriber.deliver(frames[subscriber.kind]):
                log.info("dropping a %s subscriber too far behind", subscriber.kind)
                self.leave(subscriber)
                subscriber.connection.drop("too far behind; reconnect")

    def _orders_per_second(self, accepted: int) -> float:
        now = time.monotonic()
        self._accepted.append((now, accepted))
        while len(self._accepted) > 2 and now - self._accepted[0][0] > 2.0:
            self._accepted.popleft()
        (t0, a0), (t1, a1) = self._accepted[0], self._accepted[-1]
        return (a1 - a0) / (t1 - t0) if t1 > t0 else 0.0

    async def _read(self, for_screen: bool | None = None) -> Raw:
        """One pipeline of what the feeds show. What only a big screen shows (viewers, the
        newest orders, ops' goals, the leaderboard's names) is read only while one watches:
        the live rooms' ticks stay as cheap as they were."""
        screen = bool(self._screens) if for_screen is None else for_screen
        k = self._live.stock.keys
        identity = IdentityKeys(self._runtime.settings.key_prefix)
        # recruits are stamped with campaign time, so "the last 10 minutes" is campaign time too
        recent_since = self._runtime.clock.now_ms() - 600_000
        watched = sorted({s.group for s in self._by_kind["live"] if s.group})
        others = self._live.stock.spaces.buckets[1:]  # stock buckets: see feeds/buckets.py
        redis: Redis = self._runtime.redis
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(k.counters)
            pipe.hgetall(k.pools)
            pipe.zrevrange(k.progress, 0, 3, withscores=True)
            pipe.zrevrange(k.leaders, 0, (TOP_READ if others else 10) - 1, withscores=True)
            pipe.hget(identity.counters, "distributors.recruited")
            pipe.zcount(identity.recruited, recent_since, "+inf")
            pipe.xinfo_stream(k.stream)
            pipe.hget(k.meta, "notice")
            pipe.smembers(k.paused)
            if watched:
                pipe.hmget(k.groups, watched)
            if screen:
                pipe.hgetall(k.viewers)
                # payments, addresses and link visits share the stream with the orders
                pipe.xrevrange(k.stream, count=8 * RECENT_SHOWN)
                pipe.hmget(k.meta, ["screen.target_fen", "screen.kaiqiang_at_ms"])
            results = await pipe.execute(raise_on_error=False)
        counters, pools, leading, top, recruited, recent, info, notice, paused = results[:9]
        found_groups = results[9] if watched else None
        viewers, newest, goals = results[-3:] if screen else (None, None, None)
        added = int(info["entries-added"]) if isinstance(info, dict) else 0
        if others:
            more = await read_other_buckets(redis, others, newest=8 * RECENT_SHOWN if screen else 0)
            counters = summed_counts(counters, more.counters)
            pools = summed_pools(pools, more.pools)
            top = top_leaders(top, more.leaders, 10)
            added += more.entries_added
            if isinstance(newest, list):
                newest = newest_entries(newest, more.newest, 8 * RECENT_SHOWN)
        target, kaiqiang = goals if isinstance(goals, list) else (None, None)
        groups = {}
        if watched and isinstance(found_groups, list):
            for code, found in zip(watched, found_groups, strict=True):
                if found:
                    group = decode(found)
                    groups[code] = {
                        "members": group["members"],
                        "paid": group["paid"],
                        "status": group["status"],
                        "capacity": group["capacity"],
                    }
        top_codes = [text(c) for c, _ in top]
        if screen and (
            set(top_codes) - self._known.keys()
            or time.monotonic() - self._known_at > LABELS_FRESH_S
        ):
            with contextlib.suppress(*REDIS_OUTAGES):
                self._known = await self._labels(top_codes)
                self._known_at = time.monotonic()
        return Raw(
            labels={c: self._known[c] for c in top_codes if c in self._known},
            version=added,
            last_id=text(info["last-generated-id"]) if isinstance(info, dict) else "0-0",
            counters={text(f): int(v) for f, v in counters.items()},
            pools=parse_pools(pools),
            returned=sorted(
                text(f).removesuffix(".returned_to")
                for f in pools
                if text(f).endswith(".returned_to")
            ),
            leading_groups=[(text(c), int(n)) for c, n in leading],
            top_distributors=[(text(c), int(n)) for c, n in top],
            recruited=int(recruited or 0),
            recruited_last_10_min=int(recent or 0),
            notified=int(counters.get(b"depositors.notified", 0)),
            groups=groups,
            notice=orjson.loads(notice) if isinstance(notice, bytes | str) else None,
            paused=sorted(text(m) for m in paused) if isinstance(paused, set) else [],
            viewers=_viewers(viewers) if isinstance(viewers, dict) else 0,
            recent=_recent(newest) if isinstance(newest, list) else [],
            target_fen=int(target) if isinstance(target, bytes | str) else 0,
            kaiqiang_at_ms=int(kaiqiang) if isinstance(kaiqiang, bytes | str) else None,
        )

    async def _relay_notices(self) -> None:
        """Messages scripts publish on the campaign's channel go to every live viewer."""
        pubsub = self._runtime.redis.pubsub()
        await pubsub.ssubscribe(self._live.stock.keys.feed_channel)  # the campaign's shard
        try:
            while self._listened():
                message = await pubsub.get_sharded_message(
                    ignore_subscribe_messages=True, timeout=1.0
                )
                if message is None:
                    continue
                # a banner's own fields ({"kind", "text", "at_ms"}) under type "notice"; the
                # inbox's ({"type": "inbox", "tags"}: whose notices are new) to live rooms only
                payload = {"type": "notice", **orjson.loads(message["data"])}
                inbox = payload["type"] == "inbox"
                targets = list(self._by_kind["live"] if inbox else self._everyone())
                self._deliver(targets, dict.fromkeys(KINDS, _encode(payload)))
        finally:
            await pubsub.aclose()


def _viewers(per_process: dict[Any, Any]) -> int:
    """Live rooms open now over every gateway that spoke in the last few seconds."""
    now_ms, total = int(time.time() * 1000), 0
    for value in per_process.values():
        count, _, at = text(value).partition(":")
        if count.isdigit() and at.isdigit() and now_ms - int(at) < VIEWERS_FRESH_MS:
            total += int(count)
    return total


def _recent(entries: list[Any]) -> list[dict[str, Any]]:
    """The newest orders placed, from the order stream's latest entries (newest first),
    each with the place it ships to when an address came in the same entries."""
    found: list[tuple[dict[str, Any], str]] = []
    regions: dict[str, str] = {}
    for _, fields in entries:
        kind = text(fields.get(b"type", b""))
        if kind not in ("reserved", "address") or b"order" not in fields:
            continue
        order = orjson.loads(fields[b"order"])
        if kind == "address":
            regions.setdefault(order["id"], order.get("region", ""))
        elif len(found) < RECENT_SHOWN:
            found.append((order, order["id"]))
    return [recent_order(order, regions.get(oid, "")) for order, oid in found]


def _encode(body: dict[str, Any]) -> Frames:
    return Frames(
        data_frame(orjson.dumps(body), binary=False),
        data_frame(msgpack.packb(body), binary=True),
    )


class Hubs:
    """The hubs of one gateway process, one per campaign, made on first use."""

    def subscribers(self) -> dict[tuple[str, str], int]:
        """Open feeds of this process by (campaign, kind of feed), for /metrics."""
        counts: dict[tuple[str, str], int] = {}
        for campaign_id, hub in self._hubs.items():
            for kind in hub.subscriber_kinds():
                key = (campaign_id, kind)
                counts[key] = counts.get(key, 0) + 1
        return counts

    def __init__(self, runtime: Runtime, revoked: Revoked, labels: Labels) -> None:
        self._runtime = runtime
        self._revoked = revoked
        self._labels = labels
        self._hubs: dict[str, CampaignHub] = {}

    def for_campaign(self, campaign_id: str) -> CampaignHub:
        live_campaign = self._runtime.live(campaign_id)
        if campaign_id not in self._hubs:
            self._hubs[campaign_id] = CampaignHub(
                self._runtime, live_campaign, self._revoked, self._labels
            )
        return self._hubs[campaign_id]

    async def stop(self) -> None:
        for hub in self._hubs.values():
            await hub.stop()


def _age_s(entry_id: str) -> float:
    """How long ago Redis wrote a stream entry (its id starts with Redis's clock in ms)."""
    written_ms = int(entry_id.partition("-")[0] or 0)
    return max(0.0, time.time() - written_ms / 1000) if written_ms else 0.0


def snapshot_due(kind: str, last: tuple[int, float] | None, version: int, now: float) -> bool:
    """A kind is owed a snapshot when the data moved and its pace allows, or when it has
    had none for REFRESH_S (rates and the campaign clock move without the data)."""
    if last is None:
        return True
    version_sent, at = last
    waited = now - at + _EARLY_S
    return (version != version_sent and waited >= INTERVAL_S[kind]) or waited >= REFRESH_S
