"""Prices in integer fen: what each identity pays in each mode, and the quote that shows it.

Rounding: a discount of `bp` basis points on a price is `(price * bp + 5000) // 10000`,
half-up to the fen; prices are per unit and multiplied by the quantity after rounding,
so a quote's unit price times qty is exactly what the order charges.

A quote's effects are facts (which identity changes what), not sentences: the pages and
the API word them from the message catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from server.domain.campaign import Campaign, GroupTier, MemberTier, Mode


@dataclass(frozen=True)
class Identity:
    """What the system knows of a buyer that changes prices or earnings."""

    member: MemberTier | None = None
    distributor_code: str | None = None
    depositor: bool = False


ANONYMOUS = Identity()  # a buyer with no identity that changes a price

EffectKind = Literal["member_discount", "group_tier", "depositors_only", "distributor"]


@dataclass(frozen=True)
class Effect:
    """One identity's (or one rule's) effect on an option: the facts, to be worded."""

    kind: EffectKind
    tier: str = ""  # member_discount: the member tier's name
    discount_bp: int = 0  # member_discount
    min_members: int = 0  # group_tier
    price_fen: int = 0  # group_tier
    rate_bp: int = 0  # distributor: level-1 rate
    own_link: bool = False  # distributor: earns on what they buy through their own link


@dataclass(frozen=True)
class Option:
    offer: str  # presale | group | direct | depositor_group
    mode: Mode
    unit_price_fen: int  # the whole price of one unit, all stages together
    due_now_fen: int  # per unit, at order time
    open: bool
    effects: tuple[Effect, ...]


@dataclass(frozen=True)
class Quote:
    options: tuple[Option, ...]
    applies: Option | None  # the cheapest open option
    distributor_effect: Effect | None


def discount_fen(price_fen: int, bp: int) -> int:
    return (price_fen * bp + 5000) // 10000


def member_price_fen(campaign: Campaign, mode: Mode, price_fen: int, who: Identity) -> int:
    if who.member is None or mode not in campaign.stacking.member_discount_modes:
        return price_fen
    return price_fen - discount_fen(price_fen, who.member.discount_bp)


def unit_price_due_fen(campaign: Campaign, mode: Mode, who: Identity = ANONYMOUS) -> int:
    """Due now for one unit: presale the deposit; group the entry tier's price (a group that
    reaches a lower tier is refunded the difference at close); direct the daily price."""
    if mode == "presale":
        return campaign.presale_rules.deposit_fen
    if mode == "group":
        return member_price_fen(campaign, mode, campaign.group_rules.tiers[0].price_fen, who)
    return member_price_fen(campaign, mode, campaign.sku.daily_price_fen, who)


def amount_due_fen(campaign: Campaign, mode: Mode, qty: int, who: Identity = ANONYMOUS) -> int:
    return unit_price_due_fen(campaign, mode, who) * qty


def balance_fen(campaign: Campaign, who: Identity, depositor_offer_open: bool) -> int:
    """The presale balance per unit: the depositor offer lowers it (the deposit counts)."""
    presale = campaign.presale_rules
    if depositor_offer_open and campaign.depositor_group is not None:
        return campaign.depositor_group.price_fen - presale.deposit_fen
    full = presale.deposit_fen + presale.balance_fen
    return member_price_fen(campaign, "presale", full, who) - presale.deposit_fen


def reached_tier(campaign: Campaign, paid_members: int) -> GroupTier | None:
    """The lowest-priced tier a group's paid headcount has reached, if any."""
    reached = [t for t in campaign.group_rules.tiers if paid_members >= t.min_members]
    return reached[-1] if reached else None


def next_tier(campaign: Campaign, paid_members: int) -> GroupTier | None:
    """The next cheaper tier a group has not reached yet, if any."""
    return next((t for t in campaign.group_rules.tiers if paid_members < t.min_members), None)


def quote(
    campaign: Campaign,
    who: Identity,
    now: datetime,
    depositor_offer_open: bool,
    paused: frozenset[str] = frozenset(),
) -> Quote:
    """Every option for this buyer now; a mode ops paused is offered but not open."""
    options = [*_presale(campaign, who, now), *_group(campaign, who, now)]
    options += _direct(campaign, who, now)
    offer = campaign.depositor_group
    if offer is not None and who.depositor and depositor_offer_open:
        price = offer.price_fen
        group_open = campaign.group is not None and campaign.group.is_open(now)
        options.append(
            Option(
                "depositor_group",
                "group",
                price,
                price,
                now >= offer.opens_at and group_open,
                (Effect("depositors_only"),),
            )
        )
    options = [replace(o, open=False) if o.mode in paused else o for o in options]
    open_options = [o for o in options if o.open]
    cheapest = min(open_options, key=lambda o: o.unit_price_fen) if open_options else None
    return Quote(tuple(options), cheapest, _distributor_effect(campaign, who))


def _member_effect(campaign: Campaign, mode: Mode, who: Identity) -> tuple[Effect, ...]:
    if who.member is None or mode not in campaign.stacking.member_discount_modes:
        return ()
    return (Effect("member_discount", tier=who.member.name, discount_bp=who.member.discount_bp),)


def _presale(campaign: Campaign, who: Identity, now: datetime) -> list[Option]:
    presale = campaign.presale
    if presale is None:
        return []
    total = member_price_fen(campaign, "presale", presale.price_fen, who)
    return [
        Option(
            "presale",
            "presale",
            total,
            presale.deposit_fen,
            presale.is_open(now),
            _member_effect(campaign, "presale", who),
        )
    ]


def _group(campaign: Campaign, who: Identity, now: datetime) -> list[Option]:
    group = campaign.group
    if group is None:
        return []
    effects = _member_effect(campaign, "group", who)
    entry = member_price_fen(campaign, "group", group.tiers[0].price_fen, who)
    return [
        Option(
            "group",
            "group",
            member_price_fen(campaign, "group", tier.price_fen, who),
            entry,
            group.is_open(now),
            (
                Effect("group_tier", min_members=tier.min_members, price_fen=tier.price_fen),
                *effects,
            ),
        )
        for tier in group.tiers
    ]


def _direct(campaign: Campaign, who: Identity, now: datetime) -> list[Option]:
    if campaign.direct is None:
        return []
    price = member_price_fen(campaign, "direct", campaign.sku.daily_price_fen, who)
    return [
        Option(
            "direct",
            "direct",
            price,
            price,
            campaign.direct.is_open(now),
            _member_effect(campaign, "direct", who),
        )
    ]


def _distributor_effect(campaign: Campaign, who: Identity) -> Effect | None:
    rules = campaign.distribution
    if who.distributor_code is None or rules is None:
        return None
    return Effect(
        "distributor", rate_bp=rules.level1_rate_bp, own_link=rules.self_purchase_commission
    )
