"""The refund split (domain/refunds.py) against a plain model: a sequence of refunds booked on
one order's payments never sends more back through a payment than it took, sends each refund
whole or not at all, bounced money first, then the newest payment."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain import refunds as rules
from server.domain.refunds import NotCovered, Paid, split

payments = st.lists(
    st.builds(
        lambda i, fen, at, bounced: Paid(f"c~{i:04x}", "sandbox", fen, at, bounced),
        st.integers(0, 9999),
        st.integers(1, 100_000),
        st.integers(0, 10_000),
        st.booleans(),
    ),
    min_size=0,
    max_size=4,
    unique_by=lambda p: p.payment_id,
)


@settings(max_examples=300, deadline=None)
@given(payments, st.lists(st.integers(1, 120_000), max_size=8))
def test_refunds_in_sequence_never_return_more_than_a_payment_took(
    paid: list[Paid], asks: list[int]
) -> None:
    back = {p.payment_id: 0 for p in paid}  # the model: fen sent back through each payment
    for amount in asks:
        current = [
            Paid(
                p.payment_id,
                p.provider,
                p.amount_fen,
                p.settled_at_ms,
                p.bounced,
                back[p.payment_id],
            )
            for p in paid
        ]
        left = sum(p.amount_fen - back[p.payment_id] for p in paid)
        if amount > left:
            with pytest.raises(NotCovered):
                split(amount, current)
            continue
        parts = split(amount, current)
        assert sum(part.amount_fen for part in parts) == amount
        assert all(part.amount_fen > 0 for part in parts)
        assert len({part.payment_id for part in parts}) == len(parts)
        for part in parts:
            back[part.payment_id] += part.amount_fen
        assert all(back[p.payment_id] <= p.amount_fen for p in paid)
        # a payment is touched only once every payment before it in the order is used up
        order = sorted(current, key=lambda p: (not p.bounced, -p.settled_at_ms, p.payment_id))
        used = [p.payment_id for p in order if p.payment_id in {x.payment_id for x in parts}]
        assert [x.payment_id for x in parts] == used
        for p in order[: len(parts) - 1]:
            assert back[p.payment_id] == p.amount_fen


def test_the_balance_goes_back_before_the_deposit_and_bounced_money_first() -> None:
    deposit = Paid("c~d", "sandbox", 5000, 100, False)
    balance = Paid("c~b", "sandbox", 24800, 200, False)
    assert [(p.payment_id, p.amount_fen) for p in split(26000, [deposit, balance])] == [
        ("c~b", 24800),
        ("c~d", 1200),
    ]
    bounced = Paid("c~x", "sandbox", 5000, 50, True)
    assert [p.payment_id for p in split(5000, [balance, bounced])] == ["c~x"]


def test_refund_ids_fit_the_providers_and_repeat_for_the_same_refund() -> None:
    rid = rules.refund_id("mid-autumn~0123456789abcdef", "1767225600000-12")
    assert rid == rules.refund_id("mid-autumn~0123456789abcdef", "1767225600000-12")
    assert len(rid) <= 64 and rid.replace("-", "").isalnum()


def test_backoff_grows_then_stops_growing() -> None:
    waits = [rules.next_try_ms(0, tries) for tries in range(1, 30)]
    assert waits == sorted(waits) and waits[0] == rules.BACKOFF_FIRST_MS
    assert waits[-1] == rules.BACKOFF_MOST_MS
    with pytest.raises(ValueError):
        split(0, [])


def test_yuan_strings_round_trip_and_odd_ones_are_refused() -> None:
    from server.payments.money import fen_of, yuan

    for fen in (0, 1, 99, 100, 36800, 10_000_000_001):
        assert fen_of(yuan(fen)) == fen
    assert yuan(5) == "0.05" and fen_of("368") == 36800
    for bad in ("1.001", "-1.00", "abc", "", "Infinity", "NaN"):
        with pytest.raises(ValueError):
            fen_of(bad)
