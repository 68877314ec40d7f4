"""Screen tokens for the big screens: minted, listed and revoked by ops."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.clock import to_ms
from server.errors import NotFound, Unauthorized
from server.gateway.context import Gateway, gateway
from server.gateway.http import JSONResponse, parse_json, parse_params, read_body
from server.gateway.schemas import CAMPAIGN_ID_PATTERN, ScreenLinksOut, StrictBody, TrendQuery
from server.gateway.screen_tokens import MAX_TTL_S
from server.ledger.attribution_queries import report
from server.ledger.console_queries import trend
from server.ledger.fulfilment_queries import paid_by_province
from server.ops import fulfilment, people
from server.ops.audit import AUTOMATION
from server.runtime import LiveCampaign


class ScreenTokenIn(StrictBody):
    campaign_id: Annotated[str, Field(pattern=CAMPAIGN_ID_PATTERN)]
    ttl_s: Annotated[int, Field(gt=0, le=MAX_TTL_S)] = 86_400
    label: Annotated[str, Field(max_length=60)] = ""


def screen_url(campaign_id: str, token: str) -> str:
    return "/dashboard/?" + urlencode({"campaign": campaign_id, "token": token})


async def mint_screen_token(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    body = parse_json(await read_body(request), ScreenTokenIn)
    token, record = await people.mint_screen(
        gw, AUTOMATION, body.campaign_id, body.ttl_s, body.label
    )
    return JSONResponse(
        {**_view(record), "token": token, "url": screen_url(body.campaign_id, token)},
        status_code=201,
    )


async def list_screen_tokens(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    return JSONResponse({"screen_tokens": [_view(r) for r in await gw.screens.minted()]})


async def revoke_screen_token(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    grant_id = request.path_params["id"]
    if not await people.revoke_screen(gw, AUTOMATION, grant_id):
        raise NotFound("no screen token with this id", "id")
    return JSONResponse({"id": grant_id, "revoked": True})


def _view(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "campaign_id": record["campaign_id"],
        "label": record["label"],
        "expires_at": datetime.fromtimestamp(record["expires"], tz=UTC).isoformat(),
        "revoked": bool(record.get("revoked", False)),
    }


TREND_POINTS = 96  # what a chart across the screen holds
_MINUTE_MS = 60_000


async def _watched(request: Request) -> tuple[Gateway, LiveCampaign]:
    """The campaign a big screen asks about, with that campaign's valid screen token."""
    gw = gateway(request)
    query = parse_params(dict(request.query_params), TrendQuery)
    live = gw.runtime.live(request.path_params["cid"])
    grant = gw.screen_tokens.grant(query.token)
    if grant.campaign_id != live.campaign.id or await gw.screens.revoked([grant.id]):
        raise Unauthorized("not a screen token of this campaign", "token")
    return gw, live


async def broadcast_trend(request: Request) -> Response:
    """The trend a big screen draws when it opens, and again every half minute: orders and
    money per slice of the broadcast so far, from the ledger."""
    gw, live = await _watched(request)
    start = to_ms(min(live.campaign.window(m).opens_at for m in live.campaign.modes))
    span = max(_MINUTE_MS, gw.runtime.clock.now_ms() - start)
    bucket = -(-span // TREND_POINTS // _MINUTE_MS) * _MINUTE_MS  # whole minutes, rounded up
    points = await trend(gw.ledger, live.campaign.id, start, bucket, -(-span // bucket))
    return JSONResponse({"campaign_id": live.campaign.id, "bucket_ms": bucket, "points": points})


async def broadcast_map(request: Request) -> Response:
    """The big screen's map: paid orders by province (ledger) and each warehouse's load."""
    gw, live = await _watched(request)
    shown = ("code", "name", "location", "free", "allocated", "shipped")
    houses = [{k: row[k] for k in shown} for row in await fulfilment.loads(live)]
    provinces = await paid_by_province(gw.ledger, live.campaign.id)
    return JSONResponse({"provinces": provinces, "warehouses": houses})


LINKS_KEPT_S = 20.0  # however many screens ask, the report runs once in this while


async def broadcast_links(request: Request) -> Response:
    """How the modes feed each other, for the big screen every half minute: the attribution
    report's headline (its whole is on the console's 归因 page)."""
    gw, live = await _watched(request)
    kept = gw.screen_cache.get(f"links:{live.campaign.id}")
    if kept is None or time.monotonic() - kept[0] > LINKS_KEPT_S:
        kept = (time.monotonic(), await _links_now(gw, live))
        if kept[1]["depositors"] or kept[1]["group_buyers"]:  # nothing yet: cheap to ask again
            gw.screen_cache[f"links:{live.campaign.id}"] = kept
    return JSONResponse(kept[1])


async def _links_now(gw: Gateway, live: LiveCampaign) -> ScreenLinksOut:
    found = await report(gw.ledger, live.campaign.id)
    o, g = found.overlap, found.groups
    answer: ScreenLinksOut = {
        "depositors": o.depositors,
        "depositors_in_groups": o.depositors_in_groups,
        "group_buyers": o.group_buyers,
        "group_via_distributors": o.group_buyers_via_distributors,
        "groups_closed": g.formed + g.failed,
        "formation_rate": g.formation_rate,
        "active_distributors": found.distributors.active,
        "gmv_by_first_touch": dict(found.gmv_by_first_touch),
    }
    return answer


routes = [
    Route("/campaigns/{cid}/trend", broadcast_trend, methods=["GET"]),
    Route("/campaigns/{cid}/attribution", broadcast_links, methods=["GET"]),
    Route("/campaigns/{cid}/map", broadcast_map, methods=["GET"]),
    Route("/ops/screen-tokens", mint_screen_token, methods=["POST"]),
    Route("/ops/screen-tokens", list_screen_tokens, methods=["GET"]),
    Route("/ops/screen-tokens/{id}", revoke_screen_token, methods=["DELETE"]),
]
