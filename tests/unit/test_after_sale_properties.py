"""After-sale decisions against the money invariants, with hypothesis: whatever ops ask for,
a grant never gives back more than the merchant keeps, leaves the buyer at least one unit,
and after it paid = refunded + kept still holds, with the commission on what is kept."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from server.domain.after_sale import grant, kept_per_unit_fen, units_left
from server.domain.commission import commission_fen, next_lines
from server.domain.lifecycle import expected_kept_fen
from server.errors import BadInput


@st.composite
def delivered_orders(draw: st.DrawFn) -> dict[str, Any]:
    qty = draw(st.integers(1, 10))
    unit = draw(st.integers(1, 50_000))
    group = draw(st.booleans())
    final = draw(st.integers(1, unit)) if group else None
    paid = unit * qty
    refunded = (unit - final) * qty if final is not None else 0  # a tier's difference
    return {
        "qty": qty,
        "status": "delivered",
        "paid_fen": paid,
        "refunded_fen": refunded,
        "final_unit_price_fen": final,
        "attribution": {"level1": "D1", "level1_bp": 1500, "level2": "", "level2_bp": 0},
    }


asks = st.tuples(st.integers(0, 12), st.none() | st.integers(-5, 600_000), st.integers(0, 12))


@given(delivered_orders(), st.lists(asks, min_size=1, max_size=5))
def test_grants_keep_the_money_whole(order: dict[str, Any], requests: list[Any]) -> None:
    per_unit = kept_per_unit_fen(order)
    for units, amount, restock in requests:
        kept_before = expected_kept_fen(order)
        try:
            given_ = grant(order, units, amount, restock)
        except BadInput:
            continue
        assert 0 < given_.refund_fen <= kept_before
        assert given_.units < units_left(order) and given_.restock_units <= given_.units
        if amount is None:
            assert given_.refund_fen == units * per_unit
        order["refunded_fen"] += given_.refund_fen
        order["aftersale_fen"] = order.get("aftersale_fen", 0) + given_.refund_fen
        order["aftersale_units"] = order.get("aftersale_units", 0) + given_.units
        kept = expected_kept_fen(order)
        assert kept == kept_before - given_.refund_fen >= 0
        assert order["paid_fen"] == order["refunded_fen"] + kept
        assert units_left(order) >= 1
        [line] = next_lines(order, {})
        assert line.state == "frozen" and line.amount_fen == commission_fen(kept, 1500)
