"""晒单 and the material library through the API: a buyer posts (multipart), sees their
posts; anyone sees the library and its images; a distributor shares an item with their own
link; ops moderate, add posters and video links, and read each item's figures."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.materials import (
    MAX_IMAGES,
    MAX_POST_BYTES,
    MAX_REASON,
    STATUSES,
    Action,
    action_in,
)
from server.errors import Forbidden
from server.gateway.context import gateway
from server.gateway.http import JSONResponse, parse_json, parse_params, read_body
from server.gateway.routes_distribution import share_link
from server.gateway.routes_share import base_url, known_ref
from server.gateway.schemas import (
    CAMPAIGN_ID_PATTERN,
    LINK_CODE_PATTERN,
    MaterialOut,
    MyPostOut,
    MyPostsOut,
    OpsMaterialOut,
    ShareOut,
    StrictBody,
)
from server.gateway.uploads import files_of, upload_form
from server.growth.library import FIGURES
from server.ops import materials
from server.ops.audit import AUTOMATION

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
        text, raws = str(form.get("text", "")), await files_of(form, "images")
    row = await materials.add_post(gw, live, user, text, raws)
    return JSONResponse(own_view(row), status_code=201)


async def my_posts(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request.headers)
    live = gw.runtime.live(request.path_params["cid"])
    rows = await gw.library.listed(live.campaign.id, STATUSES, author=user, kinds=("post",))
    answer: MyPostsOut = {
        "may_post": bool(await materials.paid_orders(live, user)),
        "posts": [own_view(r) for r in rows],
    }
    return JSONResponse(answer)


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
    found = await materials.approved(gw, live, request.path_params["mid"])
    data = await materials.image(gw, found, request.path_params["image"])
    return Response(data, media_type="image/jpeg", headers={"cache-control": "public, max-age=300"})


async def ops_image(request: Request) -> Response:
    """Any material's image, whatever its status (ops moderate by them)."""
    gw = gateway(request)
    gw.require_ops(request)
    found = await gw.library.find(request.path_params["mid"])
    data = await materials.image(gw, found, request.path_params["image"])
    return Response(data, media_type="image/jpeg", headers={"cache-control": "private"})


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
    found = await materials.approved(gw, live, request.path_params["mid"])
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
    ref = await known_ref(gw, parse_params(dict(request.query_params), CardQuery).ref)
    found = await materials.approved(gw, live, request.path_params["mid"])
    url = shared_url(base_url(gw, request), live.campaign.id, ref, found["material_id"])
    png = await materials.card(gw, found, url)
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
    decided = await materials.decide(
        gw, AUTOMATION, request.path_params["mid"], action, body.reason
    )
    figures = await gw.library.figures(decided["campaign_id"], [decided["material_id"]])
    return JSONResponse(ops_view(decided, figures[decided["material_id"]]))


async def ops_add(request: Request) -> Response:
    """Ops' own material. Form fields: campaign_id, kind (poster or video), title, text;
    a poster's image (one file), a video's video_url."""
    gw = gateway(request)
    gw.require_ops(request)
    async with upload_form(request, MAX_POST_BYTES, 4) as form:
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        added = await materials.add_material(gw, AUTOMATION, fields, await files_of(form, "image"))
    return JSONResponse(ops_view(added, NO_FIGURES), status_code=201)


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
