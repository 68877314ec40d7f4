"""A viewer's kept notifications across campaigns, with an unread count that a page opened
after the notice still shows."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.gateway.context import gateway
from server.gateway.http import JSONResponse, parse_json, read_body
from server.gateway.schemas import NoFields, NotificationOut, NotificationsOut
from server.notify.tags import inbox_tag


async def my_notifications(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request.headers)
    found: list[NotificationOut] = []
    unread = 0
    for live in gw.runtime.campaigns.values():
        notices, read_up_to = await live.orders.notifications(user)
        for notice in notices:
            seen = notice["at_ms"] <= read_up_to
            unread += not seen
            found.append(
                {
                    "kind": notice["kind"],
                    "text": notice["text"],
                    "at_ms": notice["at_ms"],
                    "campaign_id": live.campaign.id,
                    "read": seen,
                }
            )
    found.sort(key=lambda n: -n["at_ms"])
    tag = inbox_tag(gw.settings.secret, user)
    answer: NotificationsOut = {"notifications": found, "unread": unread, "tag": tag}
    return JSONResponse(answer)


async def mark_read(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request.headers)
    parse_json(await read_body(request), NoFields)
    now = gw.runtime.clock.now_ms()
    for live in gw.runtime.campaigns.values():
        await live.orders.mark_read(user, now)
    return JSONResponse({"unread": 0})


routes = [
    Route("/me/notifications", my_notifications, methods=["GET"]),
    Route("/me/notifications/read", mark_read, methods=["POST"]),
]
