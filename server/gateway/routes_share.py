"""Images of share links: a QR code of a distributor's link or a group's invite (SVG), and a
distributor's poster (PNG). Made once per link, campaign version and address, then cached.

The absolute address in a QR code is LIVEROOM_PUBLIC_URL when set; otherwise this request's
own (the cache keys on it, so one client's Host header never reaches another's image)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.materials import MATERIAL_ID_PATTERN
from server.domain.pricing import ANONYMOUS, quote
from server.errors import BadInput, NotFound
from server.gateway.context import Gateway, gateway
from server.gateway.http import parse_params
from server.gateway.schemas import GROUP_CODE_PATTERN, LINK_CODE_PATTERN, StrictBody
from server.i18n import t, yuan
from server.runtime import LiveCampaign
from server.share.poster import PosterText, poster_png
from server.share.qr import qr_svg


class ShareQuery(StrictBody):
    ref: Annotated[str, Field(pattern=LINK_CODE_PATTERN)] | None = None
    group: Annotated[str, Field(pattern=GROUP_CODE_PATTERN)] | None = None
    material: Annotated[str, Field(pattern=MATERIAL_ID_PATTERN)] | None = None  # with a ref


class PosterQuery(StrictBody):
    ref: Annotated[str, Field(pattern=LINK_CODE_PATTERN)]


_CACHE = "public, max-age=3600"


async def qr_code(request: Request) -> Response:
    gw = gateway(request)
    live = gw.runtime.live(request.path_params["cid"])
    asked = parse_params(dict(request.query_params), ShareQuery)
    if (asked.ref is None) == (asked.group is None):
        raise BadInput("give ref (a share link's code) or group (a group's code)", "ref")
    query = f"ref={asked.ref}" if asked.ref else f"group={asked.group}"
    if asked.material:
        if not asked.ref:
            raise BadInput("a shared material comes with its sharer's ref", "ref")
        query += f"&material={asked.material}"
    url = f"{base_url(gw, request)}/live/{live.campaign.id}?{query}"
    return Response(_qr(url), media_type="image/svg+xml", headers={"cache-control": _CACHE})


async def poster(request: Request) -> Response:
    gw = gateway(request)
    live = gw.runtime.live(request.path_params["cid"])
    ref = await known_ref(gw, parse_params(dict(request.query_params), PosterQuery).ref)
    base = base_url(gw, request)
    text = _poster_text(live, gw, f"{base}/live/{live.campaign.id}?ref={ref}")
    png = _poster(live.campaign.id, live.version, text)
    return Response(png, media_type="image/png", headers={"cache-control": _CACHE})


def _poster_text(live: LiveCampaign, gw: Gateway, url: str) -> PosterText:
    campaign = live.campaign
    offer = quote(campaign, ANONYMOUS, gw.runtime.clock.now(), False).applies
    price = offer.unit_price_fen if offer else campaign.sku.daily_price_fen
    return PosterText(
        title=t("poster.title", brand=campaign.brand, campaign=campaign.name),
        product=campaign.sku.name,
        price=t("poster.price", price=yuan(price)),
        daily=t("poster.daily", price=yuan(campaign.sku.daily_price_fen)),
        scan=t("poster.scan"),
        url=url,
    )


async def known_ref(gw: Gateway, ref: str) -> str:
    """A share link's code, if it is one (404 unknown_ref otherwise)."""
    if await gw.identities.link(ref) is None:
        raise NotFound("no share link with this code", "ref", "unknown_ref")
    return ref


def base_url(gw: Gateway, request: Request) -> str:
    return gw.settings.public_url or f"{request.url.scheme}://{request.url.netloc}"


@lru_cache(maxsize=2048)
def _qr(url: str) -> bytes:
    return qr_svg(url)


@lru_cache(maxsize=512)
def _poster(campaign_id: str, version: int, text: PosterText) -> bytes:
    """Keyed on the campaign's version too: a new price makes a new poster."""
    return poster_png(text)


routes = [
    Route("/campaigns/{cid}/qr.svg", qr_code, methods=["GET"]),
    Route("/campaigns/{cid}/poster.png", poster, methods=["GET"]),
]
