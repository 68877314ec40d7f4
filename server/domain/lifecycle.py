"""The order state machine: which status may follow which, and what money an order keeps.

The Lua scripts enforce transitions atomically; they are told the allowed source
statuses by these tables, so the rules live here once.

    awaiting_payment ──deposit paid──▶ awaiting_balance ──balance paid──▶ paid
           │      └──────────full paid─────────────────────────────────▶ paid
           ├─ past pay_before ─▶ expired               (units released)
           └─ cancelled by ops ─▶ cancelled            (units released)
    awaiting_balance ─ balance window missed ─▶ forfeited (deposit kept, units released)
    paid ─▶ allocated ─▶ shipped ─▶ delivered ─ after-sale period ─▶ completed
    a failed group ─▶ group_failed (paid money refunded, units released)
    an ops refund ─▶ refunded (units released unless shipped)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from server.clock import from_ms, to_ms
from server.domain.campaign import Campaign, Mode
from server.domain.pricing import ANONYMOUS, Identity, balance_fen

Stage = Literal["deposit", "balance", "full"]

AWAITING_PAYMENT = "awaiting_payment"
AWAITING_BALANCE = "awaiting_balance"
PAID = "paid"
NOT_SHIPPED = (AWAITING_BALANCE, PAID, "allocated")
SHIPPED = ("shipped", "delivered", "completed")
ENDED = ("expired", "cancelled", "forfeited", "group_failed", "refunded")

# Fulfilment moves one step at a time; "completed" only by the after-sale sweep.
NEXT_FULFILMENT: dict[str, str] = {
    "allocated": PAID,
    "shipped": "allocated",
    "delivered": "shipped",
}


DAY_MS = 86_400_000


def aftersale_due_ms(campaign: Campaign, delivered_ms: int) -> int:
    """When a delivered order's after-sale period ends (and its commission settles)."""
    return delivered_ms + campaign.after_sale_days * DAY_MS


def next_stage(mode: Mode, status: str) -> Stage | None:
    """The payment stage an order in this status can open, if any."""
    if status == AWAITING_PAYMENT:
        return "deposit" if mode == "presale" else "full"
    if status == AWAITING_BALANCE:
        return "balance"
    return None


def status_before(stage: Stage) -> str:
    return AWAITING_BALANCE if stage == "balance" else AWAITING_PAYMENT


def status_after(stage: Stage) -> str:
    return AWAITING_BALANCE if stage == "deposit" else PAID


def stage_amount_fen(
    campaign: Campaign,
    stage: Stage,
    qty: int,
    amount_due_fen: int,
    depositor_offer: bool = False,
    who: Identity = ANONYMOUS,
) -> int:
    """What a stage costs: the first stage is what the order quoted; the balance is what
    the quote's presale price leaves after the deposit (pricing.balance_fen), per unit."""
    if stage == "balance":
        return balance_fen(campaign, who, depositor_offer) * qty
    return amount_due_fen


@dataclass(frozen=True)
class NextPayment:
    """What the buyer owes next on an order, and when: what a pay button must say."""

    stage: Stage
    amount_fen: int
    payable_now: bool
    opens_at: datetime | None  # the balance's window, when it has not opened yet
    due_before: datetime


def next_payment(
    campaign: Campaign,
    order: dict[str, Any],
    now: datetime,
    depositor_offer_open: bool = False,
    who: Identity = ANONYMOUS,
) -> NextPayment | None:
    """The order's next payment (the same amounts stage_amount_fen charges), or None."""
    stage = next_stage(order["mode"], order["status"])
    if stage is None or order.get("ended"):
        return None
    amount = stage_amount_fen(
        campaign, stage, order["qty"], order["amount_due_fen"], depositor_offer_open, who
    )
    if stage != "balance":
        due = from_ms(order["pay_before_ms"])
        return NextPayment(stage, amount, to_ms(now) < order["pay_before_ms"], None, due)
    presale = campaign.presale_rules
    window_open = presale.balance_opens_at <= now < presale.balance_closes_at
    opens = presale.balance_opens_at if now < presale.balance_opens_at else None
    return NextPayment(stage, amount, window_open, opens, presale.balance_closes_at)


def expected_kept_fen(order: dict[str, Any]) -> int:
    """What the merchant should keep of what was paid: nothing once an order ended without
    goods (expired, cancelled, failed group, refunded); for a group order whose price fell
    at close, the price the group reached; otherwise everything paid but the payments the
    order could not take when they arrived (`bounced_fen`, returned at once; a forfeited
    deposit is kept); less what after-sale gave back. Reconcile checks paid = refunded + this."""
    if order["status"] in ENDED and order["status"] != "forfeited":
        return 0
    aftersale = int(order.get("aftersale_fen", 0))  # given back by after-sale decisions
    final = order.get("final_unit_price_fen")
    if final is not None:
        return int(final) * int(order["qty"]) - aftersale
    return int(order["paid_fen"]) - int(order.get("bounced_fen", 0)) - aftersale


def balance_due_ms(campaign: Campaign) -> int:
    """When a paid deposit's balance is due (no presale: nothing is ever a deposit)."""
    return to_ms(campaign.presale.balance_closes_at) if campaign.presale else 0
