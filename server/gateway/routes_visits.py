"""Tracked share links: the live room tells where its viewer came from (a distributor's or
community's link, a material a distributor shared, a group's invite) when it opens through
one, and when an order button is pressed on that visit. Off the order path: its own small
call, one script (record_visit.lua); the order itself takes the viewer's first and last
touch inside reserve.lua."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.materials import MATERIAL_ID_PATTERN
from server.domain.touches import day_of, source_of
from server.errors import BadInput, NotFound
from server.gateway.context import gateway
from server.gateway.http import JSONResponse, parse_json, read_body
from server.gateway.schemas import (
    GROUP_CODE_PATTERN,
    LINK_CODE_PATTERN,
    StrictBody,
    VisitOut,
)
from server.ops import materials


class VisitIn(StrictBody):
    kind: Literal["view", "click"]
    ref: Annotated[str, Field(pattern=LINK_CODE_PATTERN)] | None = None
    group: Annotated[str, Field(pattern=GROUP_CODE_PATTERN)] | None = None
    material: Annotated[str, Field(pattern=MATERIAL_ID_PATTERN)] | None = None  # with its ref


async def record_visit(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request.headers)
    live = gw.runtime.live(request.path_params["cid"])
    gw.rate_limits.check("visits", user, request.client.host if request.client else None)
    visit = parse_json(await read_body(request), VisitIn)
    if (visit.ref is None) == (visit.group is None):
        raise BadInput("give ref (a share link's code) or group (a group's code)", "ref")
    if visit.ref is not None and await gw.identities.link(visit.ref) is None:
        raise NotFound("no share link with this code", "ref", "unknown_ref")
    if visit.group is not None and await live.orders.group(visit.group) is None:
        raise NotFound("no group with this code", "group", "group_not_found")
    if visit.material is not None:
        if visit.ref is None:
            raise BadInput("a shared material comes with its sharer's ref", "ref")
        await materials.approved(gw, live, visit.material)  # only a shown one counts
    source = source_of(visit.ref, visit.group, visit.material)
    now = gw.runtime.clock.now()
    day = day_of(now, live.campaign.timezone)
    counted = await live.orders.record_visit(
        gw.runtime.clock.now_ms(), user, source, visit.kind, day
    )
    answer: VisitOut = {"source": source, "counted": counted}
    return JSONResponse(answer)


routes = [Route("/campaigns/{cid}/visits", record_visit, methods=["POST"])]
