"""What an order costs at the moment it is placed, in integer fen."""

from __future__ import annotations

from server.domain.campaign import Campaign, GroupTier, Mode


def unit_price_due_fen(campaign: Campaign, mode: Mode) -> int:
    """The amount due now for one unit.

    presale: the deposit (the balance is due in its own window);
    group: the entry tier's price (a group that reaches a lower tier is refunded the
    difference when it closes);
    direct: the daily price.
    """
    if mode == "presale":
        return campaign.presale.deposit_fen
    if mode == "group":
        return campaign.group.tiers[0].price_fen
    return campaign.sku.daily_price_fen


def amount_due_fen(campaign: Campaign, mode: Mode, qty: int) -> int:
    return unit_price_due_fen(campaign, mode) * qty


def reached_tier(campaign: Campaign, paid_members: int) -> GroupTier | None:
    """The lowest-priced tier a group's paid headcount has reached, if any."""
    reached = [t for t in campaign.group.tiers if paid_members >= t.min_members]
    return reached[-1] if reached else None
