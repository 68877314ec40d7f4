"""Distribution commission as plain rules: who earns, how much, and in which state.

A line's state follows its order's status:
  no line      until the goods are paid (a presale: until the balance is paid)
  pending      paid, not yet delivered
  frozen       delivered, the after-sale period running
  settled      completed: the amount is fixed and counts towards the balance
  cancelled    the order ended without goods before settlement
  clawed_back  the order was refunded after settlement: the settled amount is taken back,
               and if it was already paid out the balance goes negative: a debt that
               future settlements pay off.
Amounts: floor(base * rate_bp / 10000) on the amount actually paid for goods
(paid minus refunded), so a commission never exceeds its rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.domain.campaign import Campaign
from server.domain.lifecycle import expected_kept_fen

PENDING_STATUSES = ("paid", "allocated", "shipped")
OWED = ("pending", "frozen", "settled")  # states whose amount the merchant owes
ENDED_WITHOUT_GOODS = ("refunded", "group_failed", "cancelled", "expired", "forfeited")


@dataclass(frozen=True)
class Attribution:
    """Set when the order is placed, from the link it came through."""

    channel: str = ""  # "distributor", "community", or "" (no link)
    level1: str = ""  # distributor code earning level 1
    level1_bp: int = 0
    level2: str = ""  # that distributor's upline
    level2_bp: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "level1": self.level1,
            "level1_bp": self.level1_bp,
            "level2": self.level2,
            "level2_bp": self.level2_bp,
        }


@dataclass(frozen=True)
class Line:
    level: int
    distributor: str
    base_fen: int
    rate_bp: int
    amount_fen: int
    state: str


def rates_for(campaign: Campaign, volume_units: int) -> tuple[int, int]:
    """Level-1 and level-2 rates for a distributor who has sold volume_units so far."""
    rules = campaign.distribution
    if rules is None:
        return 0, 0
    rates = (rules.level1_rate_bp, rules.level2_rate_bp)
    for tier in sorted(rules.volume_tiers, key=lambda t: t.min_units):
        if volume_units >= tier.min_units:
            rates = (tier.level1_rate_bp, tier.level2_rate_bp)
    return rates


def attribute(
    campaign: Campaign,
    buyer_distributor_code: str | None,
    link_kind: str,
    link_code: str,
    upline_code: str,
    volume_units: int,
) -> Attribution:
    if link_kind == "community":
        return Attribution(channel="community")
    if link_kind != "distributor" or campaign.distribution is None:  # no one earns here
        return Attribution()
    own_link = buyer_distributor_code == link_code
    if own_link and not campaign.distribution.self_purchase_commission:
        return Attribution(channel="distributor")
    level1_bp, level2_bp = rates_for(campaign, volume_units)
    return Attribution(
        "distributor", link_code, level1_bp, upline_code, level2_bp if upline_code else 0
    )


def commission_fen(base_fen: int, rate_bp: int) -> int:
    return base_fen * rate_bp // 10000


def next_lines(order: dict[str, Any], previous: dict[int, Line]) -> list[Line]:
    """The order's commission lines now, given the lines it had before."""
    attribution = order.get("attribution") or {}
    lines = []
    for level in (1, 2):
        code = attribution.get(f"level{level}", "")
        if code:
            line = _next_line(
                order, level, code, attribution[f"level{level}_bp"], previous.get(level)
            )
            if line is not None:
                lines.append(line)
    return lines


def _next_line(
    order: dict[str, Any], level: int, code: str, rate_bp: int, before: Line | None
) -> Line | None:
    status = order["status"]
    base = order["paid_fen"] - order["refunded_fen"]
    if status in ENDED_WITHOUT_GOODS:
        if before is None or before.state in ("pending", "frozen"):  # it may have moved on
            before = _line_it_had(order, level, code, rate_bp) or before
        if before is None:
            return None
        if before.state == "settled":
            return Line(level, code, before.base_fen, rate_bp, before.amount_fen, "clawed_back")
        if before.state in ("pending", "frozen"):
            return Line(level, code, before.base_fen, rate_bp, before.amount_fen, "cancelled")
        return before
    if before is not None and before.state in ("settled", "clawed_back"):
        return before  # a settled amount never changes
    state = {"delivered": "frozen", "completed": "settled"}.get(status)
    if state is None and status in PENDING_STATUSES:
        state = "pending"
    if state is None:  # not paid yet, or a presale whose balance is still due
        return None
    return Line(level, code, base, rate_bp, commission_fen(base, rate_bp), state)


def _line_it_had(order: dict[str, Any], level: int, code: str, rate_bp: int) -> Line | None:
    """The line an ended order had just before it ended, for when the ledger never saw that
    line: the snapshots between (its payment, its delivery, ...) and its end applied in one
    batch of the stream, only the newest of them. Worked out from the status it ended from,
    as the step-by-step ledger would have had it."""
    history = order.get("history") or []
    if len(history) < 2:
        return None
    previous = history[-2][0]
    state = {"delivered": "frozen", "completed": "settled"}.get(previous)
    if state is None and previous in PENDING_STATUSES:
        state = "pending"
    if state is None:
        return None
    base = expected_kept_fen({**order, "status": previous})
    return Line(level, code, base, rate_bp, commission_fen(base, rate_bp), state)


def balance_fen(lines: list[Line], paid_out_fen: int) -> int:
    """Settled commission not yet paid out; negative is a debt against future commission."""
    earned = sum(line.amount_fen for line in lines if line.state == "settled")
    return earned - paid_out_fen
