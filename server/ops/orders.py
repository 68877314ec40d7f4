"""Ops on orders: refund a whole order, move it one fulfilment step."""

from __future__ import annotations

from typing import Any

from server.domain.lifecycle import (
    AWAITING_PAYMENT,
    NEXT_FULFILMENT,
    NOT_SHIPPED,
    SHIPPED,
    aftersale_due_ms,
)
from server.errors import Conflict, NotFound
from server.gateway.context import Gateway
from server.ops.audit import Actor
from server.store.stock import EndTerms


async def refund(gw: Gateway, actor: Actor, order_id: str, reason: str | None) -> dict[str, Any]:
    """Refund everything paid; units go back to the pool unless the goods have shipped."""
    live = gw.runtime.live_for_order(order_id)
    for _ in range(3):  # the order may move on between the read and the script: read again
        order = await live.stock.order(order_id)
        if order is None:
            raise NotFound("no such order", "order_id")
        if order["ended"]:
            raise Conflict(f"the order already ended ({order['status']})", None, "order_ended")
        shipped = order["status"] in SHIPPED
        allowed = SHIPPED if shipped else (AWAITING_PAYMENT, *NOT_SHIPPED)
        status = "refunded" if order["paid_fen"] else "cancelled"
        terms = EndTerms(allowed=",".join(allowed), refund=True, release=not shipped)
        outcome = await live.stock.end_order(gw.runtime.clock.now_ms(), order_id, status, terms)
        if outcome.code == "ended" and outcome.order is not None:
            await gw.audit.record(
                actor,
                "order.refund",
                order_id,
                _brief(order),
                {**_brief(outcome.order), "reason": reason},
            )
            return outcome.order
    raise Conflict("the order keeps changing; retry", None, "retry")


async def fulfil(
    gw: Gateway, actor: Actor, order_id: str, status: str, warehouse: str | None
) -> dict[str, Any]:
    live = gw.runtime.live_for_order(order_id)
    if status == "allocated" and live.campaign.fulfilment is not None:
        raise Conflict(
            "this campaign's orders are routed to its warehouses; override the route instead",
            "status",
            "routed_by_rules",
        )
    now = gw.runtime.clock.now_ms()
    aftersale = aftersale_due_ms(live.campaign, now) if status == "delivered" else None
    answer = await live.orders.fulfil(
        now,
        order_id,
        status,
        NEXT_FULFILMENT[status],
        aftersale_due_ms=aftersale,
        warehouse=warehouse or "",
    )
    if answer.code == "not_found":
        raise NotFound("no such order", "order_id")
    assert answer.record is not None
    if answer.code == "not_allowed":
        current = answer.record["status"]
        raise Conflict(f"cannot move a {current} order to {status}", "status", "wrong_status")
    await gw.audit.record(
        actor,
        "order.fulfil",
        order_id,
        {"status": NEXT_FULFILMENT[status]},
        {"status": status, "warehouse": warehouse},
    )
    return answer.record


def _brief(order: dict[str, Any]) -> dict[str, Any]:
    return {k: order[k] for k in ("status", "paid_fen", "refunded_fen", "held")}
