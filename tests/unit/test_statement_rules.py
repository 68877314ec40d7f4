"""A provider's statement against the ledger (domain/statements.py), against a plain model:
start from a statement that agrees with the ledger line for line, disturb it (a line lost,
a line added, an amount changed, a line twice), and each disturbance is named once."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.statements import PAYMENT, REFUND, BillLine, Booked, match

booked_lists = st.lists(
    st.builds(
        Booked,
        st.sampled_from((PAYMENT, REFUND)),
        st.text("0123456789abcdef", min_size=8, max_size=8),
        st.integers(1, 1_000_000),
        st.booleans(),
    ),
    max_size=12,
    unique_by=lambda b: (b.kind, b.ref),
)


@settings(max_examples=300, deadline=None)
@given(booked_lists, st.data())
def test_each_disturbance_is_named_once(booked: list[Booked], data: st.DataObject) -> None:
    bill = [BillLine(b.kind, b.ref, b.amount_fen, b.amount_fen // 100) for b in booked]
    assert match(bill, booked).clean
    expected = 0
    disturbed = list(bill)
    if data.draw(st.booleans(), label="lose one") and disturbed:
        lost = disturbed.pop(data.draw(st.integers(0, len(disturbed) - 1)))
        lost_booked = next(b for b in booked if (b.kind, b.ref) == (lost.kind, lost.ref))
        expected += lost_booked.on_day  # a neighbouring day's line may be on another bill
    if data.draw(st.booleans(), label="change one") and disturbed:
        i = data.draw(st.integers(0, len(disturbed) - 1))
        line = disturbed[i]
        disturbed[i] = BillLine(line.kind, line.ref, line.amount_fen + 1, line.fee_fen)
        expected += 1
    if data.draw(st.booleans(), label="add one"):
        disturbed.append(BillLine(PAYMENT, "not-ours", 100, 1))
        expected += 1
    if data.draw(st.booleans(), label="repeat one") and disturbed:
        disturbed.append(disturbed[0])
        expected += 1
    result = match(disturbed, booked)
    assert len(result.problems) == expected, result.problems
    assert result.lines == len(disturbed)
    assert result.fees_fen == sum(line.fee_fen for line in disturbed)
    agreed = [
        x
        for x in disturbed
        if any((b.kind, b.ref, b.amount_fen) == (x.kind, x.ref, x.amount_fen) for b in booked)
    ]
    assert result.matched == len({(x.kind, x.ref) for x in agreed})
