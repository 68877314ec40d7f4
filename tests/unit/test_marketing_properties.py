"""Pricing, tiers and commissions against plain-Python models, by hypothesis."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from server.domain.campaign import MemberTier, parse_campaign
from server.domain.commission import (
    OWED,
    balance_fen,
    commission_fen,
    next_lines,
)
from server.domain.pricing import Identity, discount_fen, member_price_fen, reached_tier
from tests.campaigns import CANONICAL

CAMPAIGN = parse_campaign(CANONICAL)
prices = st.integers(0, 10_000_000)
rates = st.integers(0, 10_000)


@given(prices, rates)
def test_discount_rounds_half_up_to_the_fen(price: int, bp: int) -> None:
    exact = price * bp / 10_000
    d = discount_fen(price, bp)
    assert 0 <= d <= price
    assert abs(d - exact) <= 0.5 and (d >= exact or exact - d < 0.5)


@given(prices, rates, rates)
def test_a_bigger_discount_never_costs_more(price: int, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert price - discount_fen(price, high) <= price - discount_fen(price, low)


@given(st.integers(1, 10_000_000), rates, st.integers(1, 100))
def test_member_price_times_qty_is_what_the_order_charges(price: int, bp: int, qty: int) -> None:
    who = Identity(member=MemberTier(id="m", name="m", discount_bp=bp))
    unit = member_price_fen(CAMPAIGN, "direct", price, who)
    assert unit == price - discount_fen(price, bp)
    assert unit * qty == sum(member_price_fen(CAMPAIGN, "direct", price, who) for _ in range(qty))
    assert member_price_fen(CAMPAIGN, "presale", price, who) == price  # not in the stacking list


@given(st.integers(0, 200))
def test_tier_is_the_lowest_price_whose_headcount_was_reached(paid: int) -> None:
    tier = reached_tier(CAMPAIGN, paid)
    model = None
    for t in CAMPAIGN.group_rules.tiers:
        if paid >= t.min_members and (model is None or t.price_fen < model.price_fen):
            model = t
    assert tier == model


@given(st.integers(0, 10_000_000), rates, rates)
def test_commission_never_exceeds_its_rate(base: int, l1: int, l2: int) -> None:
    for rate in (l1, l2):
        amount = commission_fen(base, rate)
        assert 0 <= amount <= base * rate / 10_000 < amount + 1
    if l1 + l2 <= 10_000:
        assert commission_fen(base, l1) + commission_fen(base, l2) <= base


PATH = ["awaiting_payment", "paid", "allocated", "shipped", "delivered", "completed"]
ENDS = ["refunded", "group_failed", "cancelled", "expired"]


@st.composite
def lives(draw: Any) -> tuple[list[str], int, int]:
    """A life of an attributed order: a prefix of the fulfilment path, perhaps an end."""
    steps = PATH[: draw(st.integers(1, len(PATH)))]
    if draw(st.booleans()):
        steps = [*steps, draw(st.sampled_from(ENDS))]
    return steps, draw(st.integers(1, 1_000_000)), draw(rates)


@given(lives())
def test_commission_states_follow_the_order_like_the_model(
    life: tuple[list[str], int, int],
) -> None:
    statuses, price, rate = life
    attribution = {"level1": "DAAAAAAA", "level1_bp": rate, "level2": "", "level2_bp": 0}
    lines: dict[int, Any] = {}
    settled_once = False
    for status in statuses:
        paid = price if status != "awaiting_payment" else 0
        refunded = price if status in ENDS else 0
        order = {
            "status": status,
            "paid_fen": paid,
            "refunded_fen": refunded,
            "attribution": attribution,
        }
        lines = {line.level: line for line in next_lines(order, lines)}
        # the model: a plain table of what the line should be now
        if status == "awaiting_payment":
            expected = None
        elif status in ENDS:
            expected = (
                ("clawed_back" if settled_once else "cancelled") if "paid" in statuses else None
            )
        else:
            expected = {"delivered": "frozen", "completed": "settled"}.get(status, "pending")
        settled_once = settled_once or expected == "settled"
        assert (lines[1].state if lines else None) == expected
        if lines:
            assert lines[1].amount_fen == commission_fen(price, rate)  # fixed once earned
    owed = sum(line.amount_fen for line in lines.values() if line.state in OWED)
    assert balance_fen(list(lines.values()), 0) == (owed if statuses[-1] == "completed" else 0)


@given(lives(), st.data())
def test_a_batch_that_skips_snapshots_ends_with_the_same_lines(
    life: tuple[list[str], int, int], data: st.DataObject
) -> None:
    """The ledger applies only the newest snapshot of an order per batch: whichever of its
    snapshots a batch skips (its payment and its refund in one batch), the lines end the same
    as step by step."""
    statuses, price, rate = life
    attribution = {"level1": "DAAAAAAA", "level1_bp": rate, "level2": "", "level2_bp": 0}

    def snapshot(upto: int) -> dict[str, Any]:
        status = statuses[upto]
        return {
            "status": status,
            "qty": 1,
            "paid_fen": price if status != "awaiting_payment" else 0,
            "refunded_fen": price if status in ENDS else 0,
            "attribution": attribution,
            "history": [[s, n] for n, s in enumerate(statuses[: upto + 1])],
        }

    stepwise: dict[int, Any] = {}
    for upto in range(len(statuses)):
        stepwise = {line.level: line for line in next_lines(snapshot(upto), stepwise)}
    seen = data.draw(st.lists(st.booleans(), min_size=len(statuses), max_size=len(statuses)))
    batched: dict[int, Any] = {}
    for upto in range(len(statuses)):
        if seen[upto] or upto == len(statuses) - 1:  # the last snapshot always lands
            batched = {line.level: line for line in next_lines(snapshot(upto), batched)}
    assert batched == stepwise
