"""What an order costs at the moment it is placed, in integer fen."""

from __future__ import annotations

from server.domain.campaign import Campaign, Mode


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
