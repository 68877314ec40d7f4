"""Shipping: a warehouse's tracking upload (all rows good or none applied) and the
logistics provider's events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.domain.lifecycle import aftersale_due_ms
from server.domain.shipping import (
    CARRIERS,
    LogisticsEvent,
    RowProblem,
    TrackingRow,
    parse_tracking_csv,
)
from server.errors import FieldProblem, InvalidRows, NotFound
from server.gateway.context import Gateway
from server.i18n import t
from server.ops.audit import Actor
from server.runtime import LiveCampaign


def carrier_names() -> dict[str, str]:
    return {code: t(f"carrier.{code}") for code in CARRIERS}


@dataclass
class UploadResult:
    shipped: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # shipped before with the same number
    corrected: list[str] = field(default_factory=list)  # in transit: a new number replaced it
    changed: list[int] = field(default_factory=list)  # lines whose order changed meanwhile

    def view(self) -> dict[str, Any]:
        return {
            "shipped": len(self.shipped),
            "unchanged": len(self.unchanged),
            "corrected": len(self.corrected),
            "changed_lines": self.changed,
        }


def refused(problems: list[RowProblem]) -> InvalidRows:
    return InvalidRows([(p.line, FieldProblem(p.field, p.message, p.code)) for p in problems])


async def upload_tracking(gw: Gateway, actor: Actor, campaign_id: str, raw: bytes) -> UploadResult:
    """Ship every row's order with its carrier and tracking number. Every row is checked
    first, against the file's rules and the order's state; one bad row refuses the file."""
    live = gw.runtime.live(campaign_id)
    rows, problems = parse_tracking_csv(raw, carrier_names())
    result = UploadResult()
    to_ship: list[TrackingRow] = []
    to_correct: list[TrackingRow] = []
    for row in rows:
        state = await _state_of(live, row)
        if isinstance(state, RowProblem):
            problems.append(state)
        elif state == "unchanged":
            result.unchanged.append(row.order_id)
        else:
            (to_correct if state == "correct" else to_ship).append(row)
    if problems:
        raise refused(problems)
    now = gw.runtime.clock.now_ms()
    for row in to_ship:
        shipment = (row.carrier, row.tracking_no)
        answer = await live.orders.fulfil(
            now, row.order_id, "shipped", "allocated", shipment=shipment
        )
        if answer.code == "moved":
            result.shipped.append(row.order_id)
        else:  # refunded between the check and now: said, not shipped
            result.changed.append(row.line)
    for row in to_correct:
        answer = await live.orders.correct_shipment(now, row.order_id, row.carrier, row.tracking_no)
        if answer.code == "corrected":
            result.corrected.append(row.order_id)
        else:  # delivered or refunded between the check and now: said, not changed
            result.changed.append(row.line)
    await gw.audit.record(
        actor,
        "shipments.upload",
        campaign_id,
        None,
        result.view(),
    )
    return result


async def _state_of(live: LiveCampaign, row: TrackingRow) -> str | RowProblem:
    order = await live.stock.order(row.order_id)
    if order is None:
        return RowProblem(row.line, "order_id", "not_found", "no such order in this campaign")
    shipment = order.get("shipment") or {}
    if order["status"] != "allocated":
        same = (shipment.get("carrier"), shipment.get("tracking_no")) == (
            row.carrier,
            row.tracking_no,
        )
        if same and not order["ended"]:
            return "unchanged"
        if order["status"] == "shipped" and not order["ended"]:
            return "correct"  # a typo fixed while the parcel is on its way
        return RowProblem(
            row.line,
            "order_id",
            "wrong_status",
            f"a {order['status']} order cannot ship (only one allocated to a warehouse)",
        )
    return "ship"


async def record_event(gw: Gateway, order_id: str, event: LogisticsEvent) -> dict[str, Any]:
    """One logistics event; "delivered" starts the after-sale period by itself."""
    live = gw.runtime.live_for_order(order_id)
    now = gw.runtime.clock.now_ms()
    aftersale_due = aftersale_due_ms(live.campaign, now)
    answer = await live.orders.logistics_event(now, order_id, event, aftersale_due)
    if answer.code == "not_found" or answer.record is None:
        raise NotFound("no such order", "order_id")
    if answer.code == "wrong_shipment":
        raise NotFound(
            "the order does not ship with this carrier and tracking number",
            "tracking_no",
            "wrong_shipment",
        )
    return {"result": answer.code, "status": answer.record["status"]}
