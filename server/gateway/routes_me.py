"""The viewer's own view: every order across campaigns and modes, and a group's progress."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.gateway.context import gateway
from server.gateway.http import JSONResponse
from server.gateway.schemas import GROUP_CODE_PATTERN
from server.gateway.views import order_view

_GROUP_CODE_RE = re.compile(GROUP_CODE_PATTERN)


async def my_orders(request: Request) -> Response:
    """Read from the hot state, so an order shows the moment it is placed or paid."""
    gw = gateway(request)
    user = gw.viewer(request.headers)
    views = []
    for live in gw.runtime.campaigns.values():
        for order in await live.orders.orders_of(user):
            views.append(order_view(order, live.campaign.timezone))
    views.sort(key=lambda v: v["created_at"], reverse=True)
    return JSONResponse({"user_id": user, "orders": views})


routes = [
    Route("/me/orders", my_orders, methods=["GET"]),
]
