"""What a running process knows: the clock, the live campaigns and their stores.

Campaigns and the simulated clock live in Redis; each process keeps a copy and
refreshes it a few times a second, so any number of gateways agree within that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources

import orjson
from redis.asyncio import Redis

from server.clock import Clock, RealClock, SimulatedClock, to_ms
from server.domain.buckets import campaign_of, keyspace_of, payment_keyspace
from server.domain.campaign import Campaign, Mode, parse_campaign
from server.domain.pools import Plan, plan_for
from server.domain.sold_out import SoldOutFlag
from server.errors import Conflict, NotFound
from server.settings import Settings
from server.store.batching import Coalescer
from server.store.buckets import BucketedStock
from server.store.campaign_store import CampaignStore
from server.store.clock_state import ClockStore
from server.store.connection import REDIS_OUTAGES
from server.store.keys import GlobalKeys
from server.store.orders import OrderStore
from server.store.replicated import Replicas, require_replicas
from server.store.scripts import Scripts
from server.store.stock import OrderRequest, Outcome, text
from server.store.warehouses import WarehouseStore
from server.telemetry import ORDERS_PER_RESERVE, REDIS_TRIPS

log = logging.getLogger("liveroom.runtime")

REFRESH_INTERVAL_S = 0.25
_NEVER = (0, 0)  # the window of a mode a campaign does not sell in


def canonical_campaign_text() -> str:
    return resources.files("server").joinpath("campaigns", "mid-autumn.toml").read_text("utf-8")


def startup_campaign_text(settings: Settings) -> str:
    """The campaign a process stores at start: LIVEROOM_CAMPAIGN, else the canonical one."""
    path = settings.campaign_file
    return path.read_text("utf-8") if path else canonical_campaign_text()


@dataclass
class LiveCampaign:
    campaign: Campaign
    version: int
    stock: BucketedStock
    orders: OrderStore
    reserve: Coalescer[OrderRequest, Outcome]
    warehouses: WarehouseStore
    plans: dict[Mode, Plan] = field(init=False)  # each mode's plan, worked out per version
    paused: frozenset[str] = frozenset()  # modes ops paused (refreshed with the campaign)
    sold_out_flag: SoldOutFlag = field(init=False)
    _windows_ms: dict[Mode, tuple[int, int]] = field(init=False)
    _heard: dict[int, dict[str, int]] = field(init=False)  # each stock bucket's, as heard

    def __post_init__(self) -> None:
        self.sold_out_flag = SoldOutFlag({})  # its plans come with the campaign, in update
        self._heard = {}
        self.update(self.campaign, self.version)

    def hear_stock(self, bucket: int, remaining: dict[str, int]) -> None:
        """A stock message of one bucket: the flag hears the campaign's sum (units a bucket
        lacks it borrows from the others)."""
        self._heard[bucket] = remaining
        self.sold_out_flag.hear_message(_summed(self._heard.values()))

    def hear_read(self, by_bucket: list[dict[str, int]], messages_before: int) -> None:
        """A read of every bucket's pools, kept unless a message came while it ran."""
        if self.sold_out_flag.hear_read(_summed(by_bucket), messages_before):
            self._heard = dict(enumerate(by_bucket))

    def update(self, campaign: Campaign, version: int) -> None:
        """Make a (new version of the) campaign live, with everything worked out from it."""
        self.campaign, self.version = campaign, version
        self.plans = {mode: plan_for(campaign, mode) for mode in campaign.modes}
        windows = {mode: campaign.window(mode) for mode in campaign.modes}
        self._windows_ms = {m: (to_ms(w.opens_at), to_ms(w.closes_at)) for m, w in windows.items()}
        self.sold_out_flag.replan(self.plans)

    def is_open(self, mode: Mode, now_ms: int) -> bool:
        """The mode's window, in the clock's milliseconds (checked on every order); a mode
        the campaign does not sell in is never open."""
        opens, closes = self._windows_ms.get(mode, _NEVER)
        return opens <= now_ms < closes

    def sold_out(self, mode: Mode, qty: int) -> bool:
        """Known in this process to be unable to serve qty units in this mode."""
        return self.sold_out_flag.sold_out(mode, qty)


def _summed(buckets: Iterable[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for remaining in buckets:
        for pool, units in remaining.items():
            total[pool] = total.get(pool, 0) + units
    return total


class Runtime:
    def __init__(self, settings: Settings, redis: Redis) -> None:
        self.settings = settings
        self.redis = redis
        self.scripts = Scripts.register(redis)
        self.campaigns: dict[str, LiveCampaign] = {}
        self.clock: Clock = RealClock()
        self._campaign_store = CampaignStore(redis, settings.key_prefix)
        self._clock_store = ClockStore(redis, GlobalKeys(settings.key_prefix).clock)
        # a refresh's read of the clock and a move here take turns: a state read before a
        # move and applied after it would set campaign time back until the next refresh
        self._clock_turn = asyncio.Lock()
        self._refresher: asyncio.Task[None] | None = None
        self._stock_watch: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        if self.replica_wait is not None:
            await require_replicas(self.redis)
        text = startup_campaign_text(self.settings)
        startup = parse_campaign(text)
        if not await self._campaign_store.save_if_absent(startup.id, text):
            log.info("campaign %s: keeping the version already in Redis", startup.id)
        for campaign_id in await self._campaign_store.ids():
            await self._load(campaign_id)
        if self.settings.simulated_clock:
            start = self.settings.clock_start or startup.opens_at
            state = await self._clock_store.start(to_ms(start), self.settings.clock_speed)
            self.clock = SimulatedClock(state)
        await self.return_due_pools()
        self._refresher = asyncio.create_task(self._refresh_forever(), name="runtime-refresh")
        self._stock_watch = asyncio.create_task(self._watch_stock(), name="runtime-stock")

    async def stop(self) -> None:
        # An event, not cancel(): redis-py can swallow a CancelledError mid-call,
        # which would leave the refresher running and stop() waiting forever.
        self._stopping.set()
        for task in (self._refresher, self._stock_watch):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(task, timeout=5)

    def live(self, campaign_id: str) -> LiveCampaign:
        live = self.campaigns.get(campaign_id)
        if live is None:
            raise NotFound(f"no campaign {campaign_id!r}", "campaign_id")
        return live

    def live_for_order(self, order_id: str, field: str = "order_id") -> LiveCampaign:
        """The campaign an order id belongs to ("<keyspace>.<number>", the keyspace its
        campaign's id or one of its stock buckets', "<campaign id>@<n>")."""
        live = self.campaigns.get(campaign_of(keyspace_of(order_id)))
        if live is None:
            raise NotFound(f"no order {order_id!r}", field)
        return live

    def live_for_payment(self, payment_id: str) -> LiveCampaign | None:
        """The campaign of a payment id ("<keyspace of its order>~<token>"), if it is live."""
        return self.campaigns.get(campaign_of(payment_keyspace(payment_id)))

    async def install(self, campaign: Campaign, text: str) -> LiveCampaign:
        """Make a validated campaign file live: its pools and the file stored in one atomic
        step, so a refusal or a failure leaves the running version as it was."""
        current = self.campaigns.get(campaign.id)
        stock = self._stock(campaign)
        if current is not None:
            if current.stock.k != stock.k and await current.stock.orders_placed():
                raise Conflict(
                    "orders exist: the stock buckets can no longer change",
                    "stock.buckets",
                    code="stock_locked",
                )
            placed = await current.orders.placed_by_mode()
            for mode in current.campaign.modes:
                if placed.get(mode) and not campaign.offers(mode):
                    raise Conflict(
                        f"{mode} orders exist: the mode cannot be left out", mode, "mode_in_use"
                    )
            if await self._warehouses_locked(current, campaign):
                raise Conflict(
                    "orders exist: a campaign with stock buckets keeps its warehouses' units",
                    "fulfilment.warehouses",
                    code="warehouse_locked",
                )
            current.warehouses.check(campaign, await current.warehouses.levels())
        await self._campaign_store.add_id(campaign.id)
        version = await stock.install(campaign, text)
        if version is None:
            raise Conflict(
                "orders exist: pools and their shares can no longer change",
                "stock.pools",
                code="stock_locked",
            )
        if current is not None and current.stock.k != stock.k:  # the old buckets go empty
            await current.stock.drop_buckets_beyond(stock)
        live = self._activate(campaign, version)
        await self._init_warehouses(live, campaign)
        return live

    async def pause(self, campaign_id: str, mode: str, paused: bool) -> list[str]:
        """Pause or resume a mode; this process knows at once, the others at their next
        refresh (within REFRESH_INTERVAL_S)."""
        live = self.live(campaign_id)
        key = live.stock.keys.paused
        await (self.redis.sadd(key, mode) if paused else self.redis.srem(key, mode))
        live.paused = frozenset(text(m) for m in await self.redis.smembers(key))
        return sorted(live.paused)

    async def campaign_version(self, campaign_id: str, version: int) -> str | None:
        return await self._campaign_store.version_text(campaign_id, version)

    async def campaign_versions(self, campaign_id: str) -> list[int]:
        return await self._campaign_store.versions(campaign_id)

    async def move_clock(
        self, *, advance_ms: int | None, set_ms: int | None, speed: float | None
    ) -> SimulatedClock:
        if not isinstance(self.clock, SimulatedClock):
            raise Conflict("campaign time follows the real clock", None, "clock_not_simulated")
        async with self._clock_turn:
            state = await self._clock_store.move(advance_ms=advance_ms, set_ms=set_ms, speed=speed)
            self.clock.state = state
        await self.return_due_pools()
        return self.clock

    async def return_due_pools(self) -> None:
        """Close every pool whose return time has come (the presale reserve at its end)."""
        now = self.clock.now()
        for live in self.campaigns.values():
            for pool in live.campaign.stock.pools:
                due = live.campaign.return_time(pool)
                if pool.returns_to is not None and due is not None and now >= due:
                    moved = await live.stock.return_unsold(
                        self.clock.now_ms(), pool.name, pool.returns_to
                    )
                    if moved is not None:
                        log.info(
                            "%s: pool %s returned %d units to %s",
                            live.campaign.id,
                            pool.name,
                            moved,
                            pool.returns_to,
                        )

    async def refresh(self) -> None:
        if isinstance(self.clock, SimulatedClock):
            async with self._clock_turn:
                state = await self._clock_store.load()
                if state is not None:
                    self.clock.state = state
        for campaign_id in await self._campaign_store.ids():
            known = self.campaigns.get(campaign_id)
            if known is None or known.version != await self._campaign_store.version(campaign_id):
                await self._load(campaign_id)
        await self.return_due_pools()
        for live in list(self.campaigns.values()):
            live.paused = frozenset(
                text(m) for m in await self.redis.smembers(live.stock.keys.paused)
            )
        for live in list(self.campaigns.values()):  # a backstop for a missed message
            heard = live.sold_out_flag.messages
            by_bucket = await live.stock.pools_by_bucket()
            live.hear_read([{n: c["remaining"] for n, c in b.items()} for b in by_bucket], heard)

    async def _refresh_forever(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), REFRESH_INTERVAL_S)
                return
            try:
                await self.refresh()
            except REDIS_OUTAGES as exc:
                log.warning("refresh failed, keeping what is known: %s", exc)

    async def _watch_stock(self) -> None:
        """Keep every campaign's `remaining` current from the scripts' stock messages. They
        are sharded (SPUBLISH): each campaign's channel lives on the shard that holds its
        pools, so each known campaign is subscribed by name as it is loaded; a message sent
        before that is made good by the refresh's backstop read."""
        while not self._stopping.is_set():
            pubsub = self.redis.pubsub()
            subscribed: set[str] = set()
            try:
                while not self._stopping.is_set():
                    wanted = {
                        keys.stock_channel
                        for live in self.campaigns.values()
                        for keys in live.stock.spaces.buckets
                    }
                    if wanted - subscribed:
                        await pubsub.ssubscribe(*(wanted - subscribed))
                        subscribed |= wanted
                    if not subscribed:
                        await asyncio.sleep(0.1)
                        continue
                    message = await pubsub.get_sharded_message(
                        ignore_subscribe_messages=True, timeout=0.1
                    )
                    if message is not None:
                        self._heard_stock(text(message["channel"]), message["data"])
            except REDIS_OUTAGES as exc:
                log.warning("stock messages interrupted: %s", exc)
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(*REDIS_OUTAGES):
                    await pubsub.aclose()

    def _heard_stock(self, channel: str, data: bytes) -> None:
        keyspace = channel.partition("{")[2].partition("}")[0]
        live = self.campaigns.get(campaign_of(keyspace))
        remaining = orjson.loads(data)
        bucket = live.stock.bucket_index(keyspace) if live is not None else None
        if live is not None and bucket is not None and isinstance(remaining, dict):
            live.hear_stock(bucket, {str(p): int(units) for p, units in remaining.items()})

    async def _load(self, campaign_id: str) -> None:
        loaded = await self._campaign_store.load(campaign_id)
        if loaded is None:
            return
        version, text = loaded
        campaign = parse_campaign(text)
        if "locked" in await self._stock(campaign).init_pools(campaign):
            log.warning(
                "%s: pools in Redis differ from the file; orders exist, keeping them", campaign.id
            )
        live = self._activate(campaign, version)
        try:
            await self._init_warehouses(live, campaign)
        except Conflict as refused:  # units already committed elsewhere: keep Redis's
            log.warning("%s: warehouses kept as they are: %s", campaign.id, refused.message)

    @staticmethod
    async def _warehouses_frozen(live: LiveCampaign) -> bool:
        """Stock buckets' loans move warehouse units between the buckets' shares: once
        orders exist, such a campaign's warehouses keep their units."""
        return live.stock.k > 1 and await live.stock.orders_placed()

    async def _warehouses_locked(self, live: LiveCampaign, campaign: Campaign) -> bool:
        """The campaign would change warehouses that must keep their units."""
        if not await self._warehouses_frozen(live):
            return False
        return live.warehouses.locked_change(campaign, await live.warehouses.levels())

    async def _init_warehouses(self, live: LiveCampaign, campaign: Campaign) -> None:
        if await self._warehouses_locked(live, campaign):
            log.warning("%s: warehouses kept as they are (stock buckets)", campaign.id)
        elif not await self._warehouses_frozen(live):
            await live.warehouses.init(campaign, live.stock.bucket_totals(campaign))

    def _activate(self, campaign: Campaign, version: int) -> LiveCampaign:
        current = self.campaigns.get(campaign.id)
        if current is not None and current.stock.k == campaign.stock.buckets:
            current.stock.configure(campaign)
            current.update(campaign, version)
            return current
        stock = self._stock(campaign)
        orders = OrderStore(self.redis, self.scripts, stock.spaces)
        houses = WarehouseStore(self.redis, self.scripts, stock.spaces)
        reserver = Coalescer(self._reserver(stock))
        if current is not None:  # other buckets (none had an order): other stores
            current.stock, current.orders, current.reserve = stock, orders, reserver
            current.warehouses = houses
            current.update(campaign, version)
            return current
        live = LiveCampaign(campaign, version, stock, orders, reserver, houses)
        self.campaigns[campaign.id] = live
        return live

    def _stock(self, campaign: Campaign) -> BucketedStock:
        prefix, k = self.settings.key_prefix, campaign.stock.buckets
        stock = BucketedStock(
            self.redis, self.scripts, prefix, campaign.id, k, wait_for=self.replica_wait
        )
        stock.configure(campaign)
        return stock

    def keyspaces(self) -> list[str]:
        """Every live campaign's keyspaces: its own and its stock buckets'."""
        return [tag for live in self.campaigns.values() for tag in live.stock.tags]

    @property
    def replica_wait(self) -> Replicas:
        """What an order and the ledger's reads wait for under durability "replicated": one
        replica, within half the socket timeout (the socket must not give up first)."""
        if self.settings.durability != "replicated":
            return None
        return (1, int(self.settings.redis_timeout_s * 500))

    def _reserver(
        self, stock: BucketedStock
    ) -> Callable[[list[OrderRequest]], Awaitable[list[Outcome]]]:
        trips = REDIS_TRIPS.labels("reserve")

        async def reserve(requests: list[OrderRequest]) -> list[Outcome]:
            trips.inc()
            ORDERS_PER_RESERVE.observe(len(requests))
            return await stock.reserve(self.clock.now_ms(), requests)

        return reserve
