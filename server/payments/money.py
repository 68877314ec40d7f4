"""Money as the providers write it: yuan strings with two decimals ("368.00"), converted to
and from integer fen at this edge only."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def fen_of(text: str) -> int:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")) or amount < 0:
        raise ValueError(f"not an amount: {text!r}")
    return int(amount * 100)
