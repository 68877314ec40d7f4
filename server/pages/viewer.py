"""The viewers' pages: the live room (/live/{cid}), the distributor center
(/live/{cid}/distributor) and 晒单 (/live/{cid}/posts). Rendered on the server with what a
first paint needs (the product, the phase, the price a new viewer pays, the stock left, the
countdown), so a phone on a slow network shows something useful from one request; the page's
script then logs the viewer in and takes over from the API and the live feed."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.clock import to_ms
from server.domain.campaign import Campaign
from server.domain.phases import phase
from server.domain.pricing import ANONYMOUS, quote
from server.errors import NotFound
from server.gateway.context import Gateway, gateway
from server.gateway.routes_quotes import quote_view
from server.i18n import sections
from server.pages.templates import templates
from server.runtime import LiveCampaign
from server.store.connection import REDIS_OUTAGES

_SECTIONS = (
    "live",
    "carrier",
    "logistics",
    "after_sale_reason",
    "errors",
    "status",
    "mode",
    "phase",
    "group_status",
    "distributor",
    "commission",
    "withdrawal_status",
    "payout",
    "payout_reason",
    "material_kind",
    "material_status",
    "posts",
)


async def live_room(request: Request) -> Response:
    return await _page(request, "live.html")


async def distributor_center(request: Request) -> Response:
    return await _page(request, "distributor.html")


async def posts_page(request: Request) -> Response:
    return await _page(request, "posts.html")


async def _page(request: Request, template: str) -> Response:
    gw = gateway(request)
    try:
        live = gw.runtime.live(request.path_params["cid"])
    except NotFound:
        return templates().TemplateResponse(request, "not_found.html", status_code=404)
    context = await page_context(gw, live)
    return templates().TemplateResponse(request, template, context)


async def page_context(gw: Gateway, live: LiveCampaign) -> dict[str, Any]:
    campaign = live.campaign
    now = gw.runtime.clock.now()
    anonymous = quote(campaign, ANONYMOUS, now, False)
    try:
        pools = await live.stock.pools()
        stock: dict[str, int] | None = {
            "remaining": sum(p["remaining"] for p in pools.values()),
            "total": sum(p["quota"] for p in pools.values()),
        }
    except REDIS_OUTAGES:  # the feed brings it as soon as Redis is back
        stock = None
    data = {
        "campaign": campaign_facts(campaign),
        "quote": quote_view(campaign.id, ANONYMOUS, anonymous),
        "stock": stock,
        "phase": phase(campaign, now),
        "now_ms": to_ms(now),
        "login": {"demo": gw.settings.demo_login, "host": gw.settings.host_login.on},
        "payment_providers": list(gw.settings.payment_providers),
        "messages": sections(*_SECTIONS),
    }
    return {"campaign": campaign, "data": data, "quote": anonymous, "stock": stock}


def campaign_facts(c: Campaign) -> dict[str, Any]:
    """What the page's script needs of the campaign: windows in campaign-clock ms, limits,
    the tiers and the offer (prices for the viewer come from the quote)."""
    presale, offer, group = c.presale, c.depositor_group, c.group
    return {
        "id": c.id,
        "name": c.name,
        "brand": c.brand,
        "sku": {"name": c.sku.name, "daily_price_fen": c.sku.daily_price_fen},
        "timezone": c.timezone,
        "modes": list(c.modes),
        "windows": {
            m: [to_ms(c.window(m).opens_at), to_ms(c.window(m).closes_at)] for m in c.modes
        },
        "limits": {m: c.window(m).per_user_limit for m in c.modes},
        "balance_window": [to_ms(presale.balance_opens_at), to_ms(presale.balance_closes_at)]
        if presale
        else None,
        "deposit_fen": presale.deposit_fen if presale else None,
        "offer": {"opens_ms": to_ms(offer.opens_at), "price_fen": offer.price_fen}
        if offer
        else None,
        "tiers": [{"min_members": t.min_members, "price_fen": t.price_fen} for t in group.tiers]
        if group
        else [],
        "distribution": c.distribution is not None,
        "recruitment": c.distribution.recruitment if c.distribution else None,
        "recruitment_min_spend_fen": c.distribution.recruitment_min_spend_fen
        if c.distribution
        else 0,
        "rates": [c.distribution.level1_rate_bp, c.distribution.level2_rate_bp]
        if c.distribution
        else None,
    }


routes = [
    Route("/live/{cid}", live_room),
    Route("/live/{cid}/distributor", distributor_center),
    Route("/live/{cid}/posts", posts_page),
]
