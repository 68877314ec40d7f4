"""Refunds leaving the building: which payment each booked refund goes back through, and what
becomes of a refund sent to the provider. Pure rules; the outbox and the sender are I/O.

A refund the ledger books names an order, not a payment; a presale order took two payments
(deposit, balance). The split sends it back through the order's payments so that no payment
ever returns more than it took: money that bounced (a payment after cancel) goes back through
that payment first, then the newest payment first (the balance before the deposit)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# A send's life: planned (pending) -> the provider took it and works on it (processing) ->
# done (succeeded) or refused by the provider (refused; ops see the reason and may retry).
PENDING, PROCESSING, SUCCEEDED, REFUSED = "pending", "processing", "succeeded", "refused"
OPEN = (PENDING, PROCESSING)

OVERDUE_MS = 2 * 3_600_000  # an open refund older than this is shown to ops
BACKOFF_FIRST_MS = 5_000
BACKOFF_MOST_MS = 10 * 60_000


@dataclass(frozen=True)
class Paid:
    """One payment of the order as the refund split sees it."""

    payment_id: str
    provider: str
    amount_fen: int
    settled_at_ms: int
    bounced: bool  # settled after its order could take it: refunded at once
    planned_fen: int = 0  # already planned to go back through it

    @property
    def left_fen(self) -> int:
        return self.amount_fen - self.planned_fen


@dataclass(frozen=True)
class Part:
    payment_id: str
    provider: str
    amount_fen: int


class NotCovered(ValueError):
    """The order's payments in the ledger cannot take this refund (yet): a payment's entry
    may still be on its way to the ledger. Planned again later; never sent short."""


def split(amount_fen: int, paid: Iterable[Paid]) -> list[Part]:
    """The refund in parts, one per payment, none over what that payment has left."""
    if amount_fen <= 0:
        raise ValueError("a refund is a positive amount")
    order = sorted(paid, key=lambda p: (not p.bounced, -p.settled_at_ms, p.payment_id))
    parts: list[Part] = []
    left = amount_fen
    for payment in order:
        if left == 0:
            break
        take = min(left, payment.left_fen)
        if take > 0:
            parts.append(Part(payment.payment_id, payment.provider, take))
            left -= take
    if left:
        raise NotCovered(f"{left} fen more than the order's payments have left")
    return parts


def refund_id(payment_id: str, stream_id: str) -> str:
    """The id the provider dedups a refund by (WeChat's out_refund_no, Alipay's
    out_request_no: at most 64 of [0-9A-Za-z_-]): the payment's own token and the refund's
    stream position, so the same booked refund always gets the same id."""
    return f"rf{payment_id.partition('~')[2]}-{stream_id}"


def next_try_ms(now_ms: int, tries: int) -> int:
    """When to ask the provider again after `tries` answers of "not yet" or no answer."""
    wait: int = BACKOFF_FIRST_MS << max(0, min(tries - 1, 16))
    return now_ms + min(wait, BACKOFF_MOST_MS)
