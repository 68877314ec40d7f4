"""After-sale (售后): what a buyer may ask for on a delivered order, and what ops may give.

A request is opened while the order is delivered and its after-sale period runs; the period
is paused while the request is open, so a decision always lands before commission settles.
Ops refund some units (at what the buyer kept paying for each) or an amount, never more than
the merchant still keeps, and say whether the units come back to stock: then they return to
the warehouse they shipped from and to the pools they were sold from, sellable again. The
commission line follows by itself: its base is what was paid minus what was refunded.

A partial refund leaves at least one unit with the buyer; all of them is the whole-order
refund ops already have.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from server.domain.lifecycle import expected_kept_fen
from server.errors import BadInput, Conflict

Reason = Literal["damaged", "wrong_item", "quality", "missing", "other"]
REASONS: tuple[Reason, ...] = ("damaged", "wrong_item", "quality", "missing", "other")
MAX_PHOTOS = 6
MAX_PHOTO_BYTES = 4 * 1024 * 1024
MAX_REQUEST_BYTES = 12 * 1024 * 1024  # all photos of one request together


@dataclass(frozen=True)
class Grant:
    """What ops give: the money, the units it is for (0: an amount only), and how many of
    them come back to stock."""

    refund_fen: int
    units: int
    restock_units: int


def kept_per_unit_fen(order: dict[str, Any]) -> int:
    """What the buyer paid for one unit, net of earlier price refunds (a group's tier
    difference), before any after-sale refund."""
    before = expected_kept_fen(order) + int(order.get("aftersale_fen", 0))
    return before // int(order["qty"])


def units_left(order: dict[str, Any]) -> int:
    """Units refunded so far do not count: the buyer keeps the rest."""
    return int(order["qty"]) - int(order.get("aftersale_units", 0))


def check_request(order: dict[str, Any], units: int) -> None:
    if order["status"] != "delivered" or order.get("ended"):
        raise Conflict("only a delivered order in its after-sale period", None, "not_delivered")
    if order.get("aftersale_open"):
        raise Conflict("this order already has an open request", None, "request_open")
    if not 1 <= units <= units_left(order):
        raise BadInput(f"1 to {units_left(order)} units", "units", "units_out_of_range")


def grant(order: dict[str, Any], units: int, amount_fen: int | None, restock_units: int) -> Grant:
    """What an approval gives, checked against the order: units are refunded at their price
    unless an amount is named; never more than the merchant keeps."""
    kept = expected_kept_fen(order)
    if not 0 <= units < units_left(order):
        raise BadInput(
            f"0 to {units_left(order) - 1} units (all of them: refund the whole order)",
            "units",
            "units_out_of_range",
        )
    if not 0 <= restock_units <= units:
        raise BadInput("at most the units refunded come back to stock", "restock_units")
    refund = units * kept_per_unit_fen(order) if amount_fen is None else amount_fen
    if not 0 < refund <= kept:
        raise BadInput(f"1 to {kept} fen", "amount_fen", "amount_out_of_range")
    return Grant(refund, units, restock_units)
