"""晒单 and the material library through the API: a buyer posts (multipart), sees their
posts; anyone sees the library and its images; a distributor shares an item with their own
link; ops moderate, add posters and video links, and read each item's figures."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.materials import (
    MAX_IMAGES,
    MAX_POST_BYTES,
    MAX_REASON,
    POSTABLE_STATUSES,
    STATUSES,
    Action,
    action_in,
    check_post,
    check_title,
    check_video_url,
)
from server.errors import BadInput, Forbidden, NotFound
from server.gateway.context import Gateway, gateway
from server.gateway.http import JSONResponse, parse_json, parse_params, read_body
from server.gateway.routes_distribution import share_link
from server.gateway.routes_share import base_url
from server.gateway.schemas import (
    CAMPAIGN_ID_PATTERN,
    LINK_CODE_PATTERN,
    MaterialOut,
    MyPostOut,
    OpsMaterialOut,
    ShareOut,
    StrictBody,
)
from server.gateway.uploads import files_of, upload_form
from server.growth.library import FIGURES, new_id
from server.growth.media import clean_image, image_key, save_images
from server.i18n import t
from server.ops.audit import AUTOMATION, Actor
from server.runtime import LiveCampaign
from server.share.material_card import card_png

NO_FIGURES = dict.fromkeys(FIGURES, 0)


class DecisionIn(StrictBody):
    reason: Annotated[str, Field(min_length=1, max_length=MAX_REASON)] | None = None


class CardQuery(StrictBody):
    ref: Annotated[str, Field(pattern=LINK_CODE_PATTERN)]  # the sharer's


class MaterialsQuery(StrictBody):
    campaign_id: Annotated[str, Field(pattern=CAMPAIGN_ID_PATTERN)]
    status: Literal["pending", "approved", "rejected", "taken_down"] | None = None


def public_view(row: dict[str, Any]) -> MaterialOut:
    return {
        "material_id": row["material_id"],
        "kind": row["kind"],
        "title": row["title"],
        "text": row["text"],
        "images": row["images"],
        "video_url": row["video_url"],
        "created_at_ms": row["created_at_ms"],
    }


def own_view(row: dict[str, Any]) -> MyPostOut:
    return {**public_view(row), "status": row["status"], "reason": row["reason"]}


def ops_view(row: dict[str, Any], figures: dict[str, int]) -> OpsMaterialOut:
    return {
        **own_view(row),
        "author": row["author"],
        "order_id": row["order_id"],
        "decided_by": row["decided_by"],
        "figures": {
            "shares": figures["shares"],
            "views": figures["views"],
            "clicks": figures["clicks"],
            "orders": figures["orders"],
            "paid": figures["paid"],
        },
    }


async def post(request: Request) -> Response:
    """A buyer's 晒单. Form fields: text; images: up to nine image files."""
    gw = gateway(request)
    user = gw.viewer(request.headers)
    live = gw.runtime.live(request.path_params["cid"])
    gw.rate_limits.check("posts", user, request.client.host if request.client else None)
    # More files than a post takes still parse, so the answer names the field.
    async with upload_form(request, MAX_POST_BYTES, 2 * MAX_IMAGES) as form:
        raws = await files_of(form, "images")
        text = check_post(str(form.get("text", "")), len(raws))
    # Redis, not the ledger: a buyer may post the moment the payment went through.
    paid = [o for o in await live.orders.orders_of(user) if o["status"] in POSTABLE_STATUSES]
    if not paid:
        raise Forbidden("only a buyer with a paid order posts", None, "no_paid_order")
    order_id = paid[0]["id"]
    images = [  # decoding is CPU work: off the event loop the orders run on
        await asyncio.to_thread(clean_image, raw, f"images[{i}]") for i, raw in enumerate(raws)
    ]
    material_id = new_id()
    await save_images(gw.media, material_id, images)
    row = await gw.library.add(
        {
            "material_id": material_id,
            "campaign_id": live.campaign.id,
            "kind": "post",
            "author": user,
            "order_id": order_id,
            "title": "",
            "text": text,
            "images": len(images),
            "video_url": None,
            "status": "pending",
            "created_at_ms": gw.runtime.clock.now_ms(),
        }
    )
    return JSONResponse(own_view(row), status_code=201)


async def my_posts(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request.headers)
    live = gw.runtime.live(request.path_params["cid"])
    rows = await gw.library.listed(live.campaign.id, STATUSES, author=user, kinds=("post",))
    return JSONResponse({"posts": [own_view(r) for r in rows]})


async def library(request: Request) -> Response:
    """The approved materials, newest first: what distributors share."""
    gw = gateway(request)
    live = gw.runtime.live(request.path_params["cid"])
    rows = await gw.library.listed(live.campaign.id, ("approved",))
    return JSONResponse({"materials": [public_view(r) for r in rows]})


async def image(request: Request) -> Response:
    """An approved material's image, for anyone."""
    gw = gateway(request)
    live = gw.runtime.live(request.path_params["cid"])
    found = await approved(gw, live, request.path_params["mid"])
    return await image_response(gw, found, request.path_params["image"], "public, max-age=300")


async def ops_image(request: Request) -> Response:
    """Any material's image, whatever its status (ops moderate by them)."""
    gw = gateway(request)
    gw.require_ops(request)
    found = await gw.library.find(request.path_params["mid"])
    return await image_response(gw, found, request.path_params["image"], "private")


async def image_response(gw: Gateway, found: dict[str, Any], name: str, cache: str) -> Response:
    key = image_key(found["material_id"], name)
    data = await gw.media.get(key) if key and int(name[0]) <= found["images"] else None
    if data is None:
        raise NotFound("no such image", "image")
    return Response(data, media_type="image/jpeg", headers={"cache-control": cache})


async def approved(gw: Gateway, live: LiveCampaign, material_id: str) -> dict[str, Any]:
    found = await gw.library.find(material_id)
    if found["campaign_id"] != live.campaign.id or found["status"] != "approved":
        raise NotFound("no material with this id", "material_id", "no_material")
    return found


async def share(request: Request) -> Response:
    """A distributor shares a material: counted, and its link (their code and the material)
    and QR code returned."""
    gw = gateway(request)
    user = gw.viewer(request.headers)
    live = gw.runtime.live(request.path_params["cid"])
    await read_body(request)  # no fields
    code = await gw.identities.distributor_code(user)
    record = await gw.identities.link(code) if code else None
    if code is None or record is None or record["status"] != "active":
        raise Forbidden("only an active distributor shares", None, "not_a_distributor")
    found = await approved(gw, live, request.path_params["mid"])
    await gw.library.record_share(
        live.campaign.id, found["material_id"], code, gw.runtime.clock.now_ms()
    )
    base = base_url(gw, request)
    answer: ShareOut = share_of(base, live.campaign.id, code, found["material_id"])
    return JSONResponse(answer, status_code=201)


def share_of(base: str, campaign_id: str, code: str, material_id: str) -> ShareOut:
    query = f"ref={code}&material={material_id}"
    return {
        "material_id": material_id,
        "url": shared_url(base, campaign_id, code, material_id),
        "qr_url": f"/api/v1/campaigns/{campaign_id}/qr.svg?{query}",
        "card_url": f"/api/v1/campaigns/{campaign_id}/materials/{material_id}/card.png?ref={code}",
    }


def shared_url(base: str, campaign_id: str, code: str, material_id: str) -> str:
    return f"{base}{share_link(campaign_id, code)}&material={material_id}"


async def card(request: Request) -> Response:
    """The material with the QR code of the sharer's link on it (PNG), to save and post."""
    gw = gateway(request)
    live = gw.runtime.live(request.path_params["cid"])
    ref = parse_params(dict(request.query_params), CardQuery).ref
    if await gw.identities.link(ref) is None:
        raise NotFound("no share link with this code", "ref", "unknown_ref")
    found = await approved(gw, live, request.path_params["mid"])
    key = image_key(found["material_id"], "1.jpg")
    picture = await gw.media.get(key) if key and found["images"] else None
    url = shared_url(base_url(gw, request), live.campaign.id, ref, found["material_id"])
    words = found["title"] or found["text"]
    png = await asyncio.to_thread(card_png, picture, words, t("poster.scan"), url)
    return Response(png, media_type="image/png", headers={"cache-control": "public, max-age=300"})


# -- ops ------------------------------------------------------------------------------------


async def ops_list(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    query = parse_params(dict(request.query_params), MaterialsQuery)
    live = gw.runtime.live(query.campaign_id)
    statuses = (query.status,) if query.status else STATUSES
    rows = await gw.library.listed(live.campaign.id, statuses)
    figures = await gw.library.figures(live.campaign.id, [r["material_id"] for r in rows])
    return JSONResponse({"materials": [ops_view(r, figures[r["material_id"]]) for r in rows]})


async def ops_decide(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    body = parse_json(await read_body(request), DecisionIn)
    action: Action = action_in(request.url.path)
    decided = await decide(gw, AUTOMATION, request.path_params["mid"], action, body.reason)
    figures = await gw.library.figures(decided["campaign_id"], [decided["material_id"]])
    return JSONResponse(ops_view(decided, figures[decided["material_id"]]))


async def decide(
    gw: Gateway, actor: Actor, material_id: str, action: Action, reason: str | None
) -> dict[str, Any]:
    """Approve, reject (with a reason) or take down, audited; the material after it."""
    if action != "approve" and not reason:
        raise BadInput("say why", "reason", "required")
    before, after = await gw.library.decide(
        material_id, action, actor.name, reason or "", gw.runtime.clock.now_ms()
    )
    await gw.audit.record(
        actor, f"material_{action}", material_id, before["status"], after["status"]
    )
    return after


async def ops_add(request: Request) -> Response:
    """Ops' own material. Form fields: campaign_id, kind (poster or video), title, text;
    a poster's image (one file), a video's video_url."""
    gw = gateway(request)
    gw.require_ops(request)
    async with upload_form(request, MAX_POST_BYTES, 4) as form:
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        added = await add_material(gw, AUTOMATION, fields, await files_of(form, "image"))
    return JSONResponse(ops_view(added, NO_FIGURES), status_code=201)


async def add_material(
    gw: Gateway, actor: Actor, fields: dict[str, Any], files: list[bytes]
) -> dict[str, Any]:
    """A poster (title, text, one image) or a video link (title, text, video_url), approved
    as it is added, audited."""
    campaign_id = str(fields.get("campaign_id", ""))
    if campaign_id not in gw.runtime.campaigns:
        raise NotFound("no such campaign", "campaign_id", "not_found")
    kind = str(fields.get("kind", ""))
    if kind not in ("poster", "video"):
        raise BadInput("poster or video", "kind", "invalid")
    title = check_title(str(fields.get("title", "")))
    text = str(fields.get("text", "")).strip()
    if len(text) > 500:
        raise BadInput("at most 500 characters", "text", "length")
    images: list[tuple[bytes, bytes]] = []
    video_url = None
    if kind == "poster":
        if len(files) != 1:
            raise BadInput("a poster is one image", "image", "required")
        images = [await asyncio.to_thread(clean_image, files[0], "image")]
    else:
        video_url = check_video_url(str(fields.get("video_url", "")))
    material_id = new_id()
    await save_images(gw.media, material_id, images)
    now_ms = gw.runtime.clock.now_ms()
    row = await gw.library.add(
        {
            "material_id": material_id,
            "campaign_id": campaign_id,
            "kind": kind,
            "author": actor.name,
            "order_id": None,
            "title": title,
            "text": text,
            "images": len(images),
            "video_url": video_url,
            "status": "approved",
            "created_at_ms": now_ms,
            "decided_by": actor.name,
            "decided_at_ms": now_ms,
        }
    )
    await gw.audit.record(actor, f"material_add_{kind}", material_id, None, title)
    return row


routes = [
    Route("/campaigns/{cid}/posts", post, methods=["POST"]),
    Route("/campaigns/{cid}/posts/mine", my_posts, methods=["GET"]),
    Route("/campaigns/{cid}/materials", library, methods=["GET"]),
    Route("/campaigns/{cid}/materials/{mid}/images/{image}", image, methods=["GET"]),
    Route("/campaigns/{cid}/materials/{mid}/shares", share, methods=["POST"]),
    Route("/campaigns/{cid}/materials/{mid}/card.png", card, methods=["GET"]),
    Route("/ops/materials", ops_list, methods=["GET"]),
    Route("/ops/materials", ops_add, methods=["POST"]),
    Route("/ops/materials/{mid}/images/{image}", ops_image, methods=["GET"]),
    Route("/ops/materials/{mid}/approve", ops_decide, methods=["POST"]),
    Route("/ops/materials/{mid}/reject", ops_decide, methods=["POST"]),
    Route("/ops/materials/{mid}/take-down", ops_decide, methods=["POST"]),
]
