"""GET /campaigns/{cid}/quote: every price for the caller, each identity's effect worded,
and the one that applies (the lowest open one)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.pricing import Identity, Option, Quote, quote
from server.gateway.context import gateway
from server.gateway.http import JSONResponse
from server.gateway.identity import identity_of
from server.gateway.schemas import OptionOut, QuoteOut
from server.gateway.wording import effect_text, identity_line


async def get_quote(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request.headers)
    live = gw.runtime.live(request.path_params["cid"])
    who = await identity_of(gw.identities, live.orders, live.campaign, user)
    offer_open = await live.orders.depositor_offer_open()
    q = quote(live.campaign, who, gw.runtime.clock.now(), offer_open, live.paused)
    return JSONResponse(quote_view(live.campaign.id, who, q))


def quote_view(campaign_id: str, who: Identity, q: Quote) -> QuoteOut:
    return {
        "campaign_id": campaign_id,
        "identities": {
            "member_tier": who.member.id if who.member else None,
            "distributor_code": who.distributor_code,
            "depositor": who.depositor,
        },
        "options": [option_view(o) for o in q.options],
        "applies": option_view(q.applies) if q.applies else None,
        "distributor_effect": effect_text(q.distributor_effect) if q.distributor_effect else None,
        "identity_line": identity_line(q),
    }


def option_view(option: Option) -> OptionOut:
    return {
        "offer": option.offer,
        "mode": option.mode,
        "unit_price_fen": option.unit_price_fen,
        "due_now_fen": option.due_now_fen,
        "open": option.open,
        "effects": [effect_text(effect) for effect in option.effects],
    }


routes = [Route("/campaigns/{cid}/quote", get_quote, methods=["GET"])]
