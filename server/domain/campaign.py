"""The campaign file: its model, and validation that names every bad field by its path.

Structure and ranges are checked by pydantic; rules that relate fields to each other
(windows in order, tiers rising, pools adding up) by `_rule_problems`, so one upload
reports every problem at once.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from server.domain.regions import divisions
from server.errors import FieldProblem, InvalidCampaign

Mode = Literal["presale", "group", "direct"]
MODES: tuple[Mode, ...] = ("presale", "group", "direct")

# Every number has bounds: a campaign file comes from outside, and an unbounded integer
# would pass validation only to break Redis, Lua or JSON later.
MAX_UNITS = 100_000_000
Fen = Annotated[int, Field(ge=0, le=100_000_000)]
PositiveFen = Annotated[int, Field(gt=0, le=100_000_000)]
BasisPoints = Annotated[int, Field(ge=0, le=10_000)]
Seconds = Annotated[int, Field(gt=0, le=90 * 86_400)]
Limit = Annotated[int, Field(gt=0, le=10_000)]
Name = Annotated[str, Field(min_length=1, max_length=120)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Sku(_Section):
    id: Slug
    name: Name
    daily_price_fen: PositiveFen
    total_units: Annotated[int, Field(gt=0, le=MAX_UNITS)]


class Window(_Section):
    opens_at: AwareDatetime
    closes_at: AwareDatetime

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at


class ModeRules(Window):
    """A selling mode: its window, how long an order may wait for payment, a per-user cap."""

    pay_within_s: Seconds
    per_user_limit: Limit


class Presale(ModeRules):
    deposit_fen: PositiveFen
    balance_fen: Fen
    price_fen: PositiveFen
    balance_opens_at: AwareDatetime
    balance_closes_at: AwareDatetime


class GroupTier(_Section):
    min_members: Annotated[int, Field(ge=2, le=10_000)]
    price_fen: PositiveFen


class GroupBuy(ModeRules):
    tiers: Annotated[list[GroupTier], Field(min_length=1, max_length=20)]
    validity_s: Seconds
    capacity: Annotated[int, Field(ge=2, le=10_000)]
    auto_complete: bool = False
    # 模拟成团: the most missing members the merchant will fill to form a group
    auto_complete_max_missing: Annotated[int, Field(ge=0, le=10_000)] = 0


class DepositorGroup(_Section):
    opens_at: AwareDatetime
    price_fen: PositiveFen


class Direct(ModeRules):
    """Buying at the daily price, typically through a distributor's share link."""


class VolumeTier(_Section):
    min_units: Annotated[int, Field(gt=0, le=MAX_UNITS)]
    level1_rate_bp: BasisPoints
    level2_rate_bp: BasisPoints


class Distribution(_Section):
    level1_rate_bp: BasisPoints
    level2_rate_bp: BasisPoints
    self_purchase_commission: bool
    after_sale_days: Annotated[int, Field(ge=0, le=90)]
    volume_tiers: Annotated[list[VolumeTier], Field(max_length=20)] = []
    # Who may become a distributor: anyone, those who spent enough, or by ops approval.
    recruitment: Literal["open", "spend", "approval"] = "open"
    recruitment_min_spend_fen: Fen = 0


class MemberTier(_Section):
    id: Slug
    name: Name
    discount_bp: BasisPoints


class Stacking(_Section):
    member_discount_modes: Annotated[list[Mode], Field(max_length=3)] = ["direct"]


class BorrowRule(_Section):
    model_config = ConfigDict(populate_by_name=True)
    lender: Annotated[str, Field(alias="from", min_length=1, max_length=63)]
    floor: Annotated[int, Field(ge=0, le=MAX_UNITS)]


class Pool(_Section):
    name: Slug
    kind: Literal["reserve", "shared"]
    modes: Annotated[list[Mode], Field(min_length=1, max_length=3)]
    share_pct: Annotated[int, Field(gt=0, le=100)]
    borrow: Annotated[list[BorrowRule], Field(max_length=16)] = []
    returns_to: Slug | None = None
    returns_at: AwareDatetime | None = None


MAX_BUCKETS = 16  # a campaign's stock buckets at most (domain/buckets.py)


class Stock(_Section):
    pools: Annotated[list[Pool], Field(min_length=1, max_length=16)]
    # stock buckets (domain/buckets.py): the pools split over this many keyspaces, so on a
    # Redis Cluster as many shards place one very hot campaign's orders
    buckets: Annotated[int, Field(ge=1, le=MAX_BUCKETS)] = 1


RegionCode = Annotated[str, Field(pattern=r"^[1-9]\d{5}$")]


class ServedRegion(_Section):
    region: RegionCode  # a province, city or district (GB/T 2260)
    priority: Annotated[int, Field(ge=1, le=99)]  # 1 ships first


class Warehouse(_Section):
    """A warehouse or a 前置仓 (kind "front"): where it is, what it holds, whom it serves."""

    code: Slug
    name: Name
    kind: Literal["warehouse", "front"] = "warehouse"
    location: RegionCode
    units: Annotated[int, Field(ge=0, le=MAX_UNITS)]
    serves: Annotated[list[ServedRegion], Field(max_length=400)] = []


class Fulfilment(_Section):
    """Where the stock physically lies and how a paid order picks its warehouses
    (domain/routing.py)."""

    strategy: Literal["region_priority", "most_stock"] = "region_priority"
    warehouses: Annotated[list[Warehouse], Field(min_length=1, max_length=64)]


class Notifications(_Section):
    """What goes out by itself on the campaign clock (domain/notices.py)."""

    open_depositor_offer: bool = False  # the depositor offer opens at its time, with no click
    balance_reminders_h: Annotated[
        list[Annotated[int, Field(gt=0, le=240)]], Field(max_length=6)
    ] = [24, 2]  # hours before the balance window closes
    group_short: Annotated[int, Field(ge=0, le=20)] = 2  # "还差 N 人成团" at N or fewer; 0: off
    promotions_per_hour: Annotated[int, Field(ge=0, le=60)] = 3  # pushes a viewer gets at most


class Campaign(_Section):
    """A campaign; any of its modes (and distribution) may be left out, not all of them."""

    id: Slug
    name: Name
    brand: Name
    timezone: Name
    sku: Sku
    presale: Presale | None = None
    group: GroupBuy | None = None
    depositor_group: DepositorGroup | None = None  # needs presale and group
    direct: Direct | None = None
    distribution: Distribution | None = None  # none: no link earns commission
    members: Annotated[list[MemberTier], Field(max_length=20)] = []
    stacking: Stacking = Stacking()
    stock: Stock
    fulfilment: Fulfilment | None = None  # none: orders are moved through fulfilment by ops
    notifications: Notifications = Notifications()

    @property
    def modes(self) -> tuple[Mode, ...]:
        """The modes this campaign sells in."""
        return tuple(mode for mode in MODES if getattr(self, mode) is not None)

    def offers(self, mode: Mode) -> bool:
        return getattr(self, mode) is not None

    # The sections of code paths that run only where the campaign has them (an order of a
    # mode exists only if the mode is sold): a missing one there is a bug, said plainly.
    @property
    def presale_rules(self) -> Presale:
        return _present(self.presale, "presale")

    @property
    def group_rules(self) -> GroupBuy:
        return _present(self.group, "group")

    @property
    def offer_rules(self) -> DepositorGroup:
        return _present(self.depositor_group, "depositor_group")

    @property
    def opens_at(self) -> datetime:
        """When the first of its modes opens."""
        return min(self.window(mode).opens_at for mode in self.modes)

    @property
    def after_sale_days(self) -> int:
        """How long after delivery an order may still be returned (commission waits)."""
        return self.distribution.after_sale_days if self.distribution else DEFAULT_AFTER_SALE_DAYS

    def window(self, mode: Mode) -> ModeRules:
        rules: ModeRules | None = getattr(self, mode)  # each mode's section bears its name
        if rules is None:
            raise ValueError(f"campaign {self.id!r} does not sell in mode {mode!r}")
        return rules

    def pool_for(self, mode: Mode) -> Pool:
        return next(p for p in self.stock.pools if mode in p.modes)

    def pool_units(self) -> dict[str, int]:
        """Each pool's starting units: its share of the total, by largest remainder."""
        total = self.sku.total_units
        exact = [(p.name, total * p.share_pct) for p in self.stock.pools]
        units = {name: whole // 100 for name, whole in exact}
        leftover = total - sum(units.values())
        by_remainder = sorted(exact, key=lambda e: (-(e[1] % 100), e[0]))
        for name, _ in by_remainder[:leftover]:
            units[name] += 1
        return units

    def return_time(self, pool: Pool) -> datetime | None:
        """When a pool's unsold units move to `returns_to`: given, or when its modes close."""
        if pool.returns_to is None:
            return None
        return pool.returns_at or max(self.window(m).closes_at for m in pool.modes)


DEFAULT_AFTER_SALE_DAYS = 7
Section = TypeVar("Section")


def _present(section: Section | None, name: str) -> Section:
    if section is None:
        raise ValueError(f"the campaign has no {name} section")
    return section


def parse_campaign(text: str) -> Campaign:
    """Parse and validate a campaign file; raise InvalidCampaign listing every problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidCampaign([FieldProblem(None, f"not valid TOML: {exc}", "toml")]) from exc
    except RecursionError:  # arrays or tables nested thousands deep
        raise InvalidCampaign([FieldProblem(None, "nested too deeply", "toml")]) from None
    try:
        campaign = Campaign.model_validate(raw)
    except ValidationError as exc:
        raise InvalidCampaign([_from_pydantic(e) for e in exc.errors()]) from exc
    problems = list(_rule_problems(campaign))
    if problems:
        raise InvalidCampaign(problems)
    return campaign


def _from_pydantic(error: object) -> FieldProblem:
    assert isinstance(error, dict)
    path = ""
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    params = {k: v for k, v in error.get("ctx", {}).items() if isinstance(v, (int, float, str))}
    return FieldProblem(path or None, str(error["msg"]), str(error["type"]), params)


def _rule_problems(c: Campaign) -> Iterator[FieldProblem]:
    try:
        ZoneInfo(c.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        yield FieldProblem("timezone", f"unknown time zone {c.timezone!r}", "unknown_timezone")
    yield from _window_problems(c)
    yield from _price_problems(c)
    yield from _rate_problems(c)
    yield from _pool_problems(c)
    if c.fulfilment is not None:
        yield from _warehouse_problems(c, c.fulfilment)


def _window_problems(c: Campaign) -> Iterator[FieldProblem]:
    if not c.modes:
        yield FieldProblem(None, "sell in at least one mode: presale, group or direct", "no_mode")
    for section in c.modes:
        window = c.window(section)
        if window.closes_at <= window.opens_at:
            yield FieldProblem(f"{section}.closes_at", "must be after opens_at", "after_opens")
    if c.presale is not None:
        if c.presale.balance_closes_at <= c.presale.balance_opens_at:
            yield FieldProblem(
                "presale.balance_closes_at", "must be after balance_opens_at", "after_opens"
            )
        if c.presale.balance_opens_at < c.presale.opens_at:
            yield FieldProblem(
                "presale.balance_opens_at", "must not be before presale.opens_at", "balance_early"
            )


def _price_problems(c: Campaign) -> Iterator[FieldProblem]:
    p = c.presale
    if p is not None and p.deposit_fen + p.balance_fen != p.price_fen:
        yield FieldProblem(
            "presale.price_fen", "must equal deposit_fen + balance_fen", "deposit_plus_balance"
        )
    if c.depositor_group is not None:
        if p is None or c.group is None:
            yield FieldProblem(
                "depositor_group", "needs both presale and group", "offer_needs_modes"
            )
        elif c.depositor_group.price_fen < p.deposit_fen:
            yield FieldProblem(
                "depositor_group.price_fen",
                "must not be below presale.deposit_fen",
                "below_deposit",
            )
    if c.group is not None:
        yield from _tier_problems(c.group)
    member_ids = [m.id for m in c.members]
    for i, member_id in enumerate(member_ids):
        if member_id in member_ids[:i]:
            yield FieldProblem(
                f"members[{i}].id", f"duplicate member tier {member_id!r}", "duplicate"
            )


def _tier_problems(group: GroupBuy) -> Iterator[FieldProblem]:
    tiers = group.tiers
    for i in range(1, len(tiers)):
        if tiers[i].min_members <= tiers[i - 1].min_members:
            yield FieldProblem(
                f"group.tiers[{i}].min_members", "must rise from tier to tier", "tiers_rise"
            )
        if tiers[i].price_fen >= tiers[i - 1].price_fen:
            yield FieldProblem(
                f"group.tiers[{i}].price_fen", "must fall from tier to tier", "tiers_fall"
            )
    if tiers[-1].min_members > group.capacity:
        yield FieldProblem(
            "group.capacity", "must hold the largest tier's min_members", "capacity_small"
        )


def _rate_problems(c: Campaign) -> Iterator[FieldProblem]:
    d = c.distribution
    if d is None:
        return
    if d.level1_rate_bp + d.level2_rate_bp > 10_000:
        yield FieldProblem(
            "distribution.level2_rate_bp", "level 1 + level 2 must not pass 100%", "rates_over"
        )
    for i, tier in enumerate(d.volume_tiers):
        if tier.level1_rate_bp + tier.level2_rate_bp > 10_000:
            yield FieldProblem(
                f"distribution.volume_tiers[{i}].level2_rate_bp",
                "rates must not pass 100%",
                "rates_over",
            )


def _pool_problems(c: Campaign) -> Iterator[FieldProblem]:
    pools = c.stock.pools
    names = [p.name for p in pools]
    total = sum(p.share_pct for p in pools)
    if total != 100:
        yield FieldProblem(
            "stock.pools", "share_pct must add up to 100", "shares_sum", {"sum": total}
        )
    for mode in c.modes:
        owners = [p.name for p in pools if mode in p.modes]
        if len(owners) != 1:
            yield FieldProblem(
                "stock.pools",
                f"mode {mode!r} must be in exactly one pool",
                "one_pool",
                {"mode": mode},
            )
    for i, pool in enumerate(pools):
        at = f"stock.pools[{i}]"
        yield from _unsold_modes(c, pool, at)
        if pool.name in names[:i]:
            yield FieldProblem(f"{at}.name", f"duplicate pool {pool.name!r}", "duplicate")
        for j, rule in enumerate(pool.borrow):
            if rule.lender not in names or rule.lender == pool.name:
                yield FieldProblem(
                    f"{at}.borrow[{j}].from", "must name another pool", "another_pool"
                )
        if pool.returns_to is not None and pool.returns_to not in set(names) - {pool.name}:
            yield FieldProblem(f"{at}.returns_to", "must name another pool", "another_pool")
        if pool.returns_at is not None and pool.returns_to is None:
            yield FieldProblem(f"{at}.returns_at", "needs returns_to", "needs_returns_to")
    yield from _return_cycles(pools)


def _unsold_modes(c: Campaign, pool: Pool, at: str) -> Iterator[FieldProblem]:
    for j, mode in enumerate(pool.modes):
        if not c.offers(mode):
            yield FieldProblem(
                f"{at}.modes[{j}]", f"the campaign does not sell in {mode!r}", "mode_not_sold"
            )


def _return_cycles(pools: list[Pool]) -> Iterator[FieldProblem]:
    """Unsold units follow returns_to from pool to pool: a chain that comes back to where
    it started would strand them in a closed pool."""
    returns = {p.name: p.returns_to for p in pools if p.returns_to is not None}
    for i, pool in enumerate(pools):
        seen, at = {pool.name}, returns.get(pool.name)
        while at is not None and at not in seen:
            seen.add(at)
            at = returns.get(at)
        if at == pool.name:
            yield FieldProblem(
                f"stock.pools[{i}].returns_to", "returns form a cycle", "returns_cycle"
            )


def _warehouse_problems(c: Campaign, fulfilment: Fulfilment) -> Iterator[FieldProblem]:
    known = divisions()
    seen: set[str] = set()
    for i, house in enumerate(fulfilment.warehouses):
        at = f"fulfilment.warehouses[{i}]"
        if house.code in seen:
            yield FieldProblem(f"{at}.code", f"warehouse {house.code!r} twice", "duplicate")
        seen.add(house.code)
        if house.location not in known:
            yield FieldProblem(f"{at}.location", "not a GB/T 2260 code", "unknown_region")
        for j, served in enumerate(house.serves):
            if served.region not in known:
                yield FieldProblem(
                    f"{at}.serves[{j}].region", "not a GB/T 2260 code", "unknown_region"
                )
    total = sum(house.units for house in fulfilment.warehouses)
    if total != c.sku.total_units:
        yield FieldProblem(
            "fulfilment.warehouses",
            f"the warehouses hold {total} units, the SKU has {c.sku.total_units}",
            "warehouse_units",
            {"total": total, "expected": c.sku.total_units},
        )
