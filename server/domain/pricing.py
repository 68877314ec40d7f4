"""Prices in integer fen: what each identity pays in each mode, and the quote that shows it.

Rounding: a discount of `bp` basis points on a price is `(price * bp + 5000) // 10000`,
half-up to the fen; prices are per unit and multiplied by the quantity after rounding,
so a quote's unit price times qty is exactly what the order charges.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.domain.campaign import Campaign, GroupTier, MemberTier, Mode


@dataclass(frozen=True)
class Identity:
    """What the system knows of a buyer that changes prices or earnings."""

    member: MemberTier | None = None
    distributor_code: str | None = None
    depositor: bool = False


ANONYMOUS = Identity()  # a buyer with no identity that changes a price


@dataclass(frozen=True)
class Option:
    offer: str  # presale | group | direct | depositor_group
    mode: Mode
    unit_price_fen: int  # the whole price of one unit, all stages together
    due_now_fen: int  # per unit, at order time
    open: bool
    effects: tuple[str, ...]


@dataclass(frozen=True)
class Quote:
    options: tuple[Option, ...]
    applies: Option | None  # the cheapest open option
    distributor_effect: str | None


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
        return campaign.presale.deposit_fen
    if mode == "group":
        return member_price_fen(campaign, mode, campaign.group.tiers[0].price_fen, who)
    return member_price_fen(campaign, mode, campaign.sku.daily_price_fen, who)


def amount_due_fen(campaign: Campaign, mode: Mode, qty: int, who: Identity = ANONYMOUS) -> int:
    return unit_price_due_fen(campaign, mode, who) * qty


def balance_fen(campaign: Campaign, who: Identity, depositor_offer_open: bool) -> int:
    """The presale balance per unit: the depositor offer lowers it (the deposit counts)."""
    if depositor_offer_open:
        return campaign.depositor_group.price_fen - campaign.presale.deposit_fen
    full = campaign.presale.deposit_fen + campaign.presale.balance_fen
    return member_price_fen(campaign, "presale", full, who) - campaign.presale.deposit_fen


def reached_tier(campaign: Campaign, paid_members: int) -> GroupTier | None:
    """The lowest-priced tier a group's paid headcount has reached, if any."""
    reached = [t for t in campaign.group.tiers if paid_members >= t.min_members]
    return reached[-1] if reached else None


def quote(campaign: Campaign, who: Identity, now: datetime, depositor_offer_open: bool) -> Quote:
    options = [
        _presale(campaign, who, now),
        *_group(campaign, who, now),
        _direct(campaign, who, now),
    ]
    if who.depositor and depositor_offer_open:
        price = campaign.depositor_group.price_fen
        options.append(
            Option(
                "depositor_group",
                "group",
                price,
                price,
                now >= campaign.depositor_group.opens_at and campaign.group.is_open(now),
                ("预售定金用户专享团 (depositors only)",),
            )
        )
    open_options = [o for o in options if o.open]
    cheapest = min(open_options, key=lambda o: o.unit_price_fen) if open_options else None
    return Quote(tuple(options), cheapest, _distributor_effect(campaign, who))


def _member_effect(campaign: Campaign, mode: Mode, who: Identity) -> tuple[str, ...]:
    if who.member is None or mode not in campaign.stacking.member_discount_modes:
        return ()
    off = 100 - who.member.discount_bp / 100
    return (f"as {who.member.name} {off:g}% of the price",)


def _presale(campaign: Campaign, who: Identity, now: datetime) -> Option:
    total = member_price_fen(campaign, "presale", campaign.presale.price_fen, who)
    return Option(
        "presale",
        "presale",
        total,
        campaign.presale.deposit_fen,
        campaign.presale.is_open(now),
        _member_effect(campaign, "presale", who),
    )


def _group(campaign: Campaign, who: Identity, now: datetime) -> list[Option]:
    effects = _member_effect(campaign, "group", who)
    entry = member_price_fen(campaign, "group", campaign.group.tiers[0].price_fen, who)
    return [
        Option(
            "group",
            "group",
            member_price_fen(campaign, "group", tier.price_fen, who),
            entry,
            campaign.group.is_open(now),
            (f"group of {tier.min_members}+: ¥{tier.price_fen / 100:g}", *effects),
        )
        for tier in campaign.group.tiers
    ]


def _direct(campaign: Campaign, who: Identity, now: datetime) -> Option:
    price = member_price_fen(campaign, "direct", campaign.sku.daily_price_fen, who)
    return Option(
        "direct",
        "direct",
        price,
        price,
        campaign.direct.is_open(now),
        _member_effect(campaign, "direct", who),
    )


def _distributor_effect(campaign: Campaign, who: Identity) -> str | None:
    if who.distributor_code is None:
        return None
    rate = campaign.distribution.level1_rate_bp / 100
    if campaign.distribution.self_purchase_commission:
        return f"as distributor you earn {rate:g}% on what you buy through your own link"
    return f"as distributor you earn {rate:g}% on what others buy through your link"
