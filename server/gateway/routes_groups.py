"""Groups as a viewer sees them: one group's progress, and the open groups to join (凑团),
those closest to their next tier first."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.pricing import next_tier
from server.errors import NotFound
from server.gateway.context import gateway
from server.gateway.http import JSONResponse
from server.gateway.schemas import GROUP_CODE_PATTERN, GroupsOut
from server.gateway.views import group_view

_GROUP_CODE_RE = re.compile(GROUP_CODE_PATTERN)
LISTED = 20


async def get_group(request: Request) -> Response:
    code = request.path_params["code"]
    if not _GROUP_CODE_RE.fullmatch(code):
        raise NotFound("no group with this code", "code")
    for live in gateway(request).runtime.campaigns.values():
        group = await live.orders.group(code)
        if group is not None:
            return JSONResponse(group_view(live.campaign, group))
    raise NotFound("no group with this code", "code")


async def open_groups(request: Request) -> Response:
    gw = gateway(request)
    live = gw.runtime.live(request.path_params["cid"])
    if live.campaign.group is None:
        return JSONResponse({"groups": []})
    now = gw.runtime.clock.now_ms()
    joinable = [
        g
        for g in await live.orders.open_groups()
        if g["status"] == "open" and g["expires_at_ms"] > now and g["members"] < g["capacity"]
    ]

    def missing(group: dict[str, int]) -> tuple[int, int]:
        """Paid members short of the next tier (the top tier reached: none), sooner first."""
        tier = next_tier(live.campaign, group["paid"])
        return (tier.min_members - group["paid"] if tier else 0, group["expires_at_ms"])

    joinable.sort(key=missing)
    answer: GroupsOut = {"groups": [group_view(live.campaign, g) for g in joinable[:LISTED]]}
    return JSONResponse(answer)


routes = [
    Route("/groups/{code}", get_group, methods=["GET"]),
    Route("/campaigns/{cid}/groups", open_groups, methods=["GET"]),
]
