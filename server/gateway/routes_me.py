"""The viewer's own orders: every order across campaigns and modes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.clock import to_ms
from server.domain.lifecycle import NextPayment, next_payment
from server.gateway.context import gateway
from server.gateway.http import JSONResponse
from server.gateway.identity import identity_of
from server.gateway.schemas import MyOrderOut, MyOrdersOut, NextPaymentOut
from server.gateway.views import local_iso, order_view


async def my_orders(request: Request) -> Response:
    """Read from the hot state, so an order shows the moment it is placed or paid; each with
    what it owes next (the amount the pay button charges, as the balance follows the
    buyer's identity and the depositor offer)."""
    gw = gateway(request)
    user = gw.viewer(request.headers)
    now = gw.runtime.clock.now()
    views: list[MyOrderOut] = []
    for live in gw.runtime.campaigns.values():
        orders = await live.orders.orders_of(user)
        if not orders:
            continue
        who = await identity_of(gw.identities, live.orders, live.campaign, user)
        offer = await live.orders.depositor_offer_open()
        zone = live.campaign.timezone
        for order in orders:
            owed = next_payment(live.campaign, order, now, offer, who)
            views.append({**order_view(order, zone), "next_payment": _owed_view(owed, zone)})
    views.sort(key=lambda v: v["created_at"], reverse=True)
    answer: MyOrdersOut = {"user_id": user, "orders": views}
    return JSONResponse(answer)


def _owed_view(owed: NextPayment | None, zone: str) -> NextPaymentOut | None:
    if owed is None:
        return None
    return {
        "stage": owed.stage,
        "amount_fen": owed.amount_fen,
        "payable_now": owed.payable_now,
        "opens_at": local_iso(to_ms(owed.opens_at), zone) if owed.opens_at else None,
        "due_before": local_iso(to_ms(owed.due_before), zone),
    }


routes = [
    Route("/me/orders", my_orders, methods=["GET"]),
]
