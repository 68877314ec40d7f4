"""The material library in the console: the 晒单 waiting for a decision (with their images),
approve or reject with a reason, every material with its shares, views and orders, take one
down, and add ops' own posters and video links."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.responses import Response
from starlette.routing import Route

from server.console.guard import Visit, page, render, see_other
from server.console.routes_finance import chosen
from server.domain.materials import MAX_IMAGE_BYTES, STATUSES, Action, action_in
from server.ops import materials

POSTER_FORM_BYTES = MAX_IMAGE_BYTES + 64 * 1024


@page("campaign.view")
async def library(visit: Visit) -> Response:
    live = chosen(visit)
    rows = await visit.gw.library.listed(live.campaign.id, STATUSES, limit=500)
    figures = await visit.gw.library.figures(live.campaign.id, [r["material_id"] for r in rows])
    return render(
        visit,
        "console/materials.html",
        live=live,
        pending=[r for r in rows if r["status"] == "pending"],
        # what sells first, then what is shared, then the newest
        shown=sorted(
            (r for r in rows if r["status"] != "pending"),
            key=lambda r: (
                -figures[r["material_id"]]["orders"],
                -figures[r["material_id"]]["shares"],
            ),
        ),
        figures=figures,
    )


@page("campaign.view")
async def image(visit: Visit) -> Response:
    params = visit.request.path_params
    found = await visit.gw.library.find(params["mid"])
    data = await materials.image(visit.gw, found, params["image"])
    return Response(data, media_type="image/jpeg", headers={"cache-control": "private"})


@page("materials.moderate")
async def moderate(visit: Visit) -> Response:
    material_id: str = visit.request.path_params["mid"]
    action: Action = action_in(visit.request.url.path)
    decided = await materials.decide(
        visit.gw, visit.actor, material_id, action, visit.text("reason")
    )
    return see_other(f"/console/materials?campaign={decided['campaign_id']}", f"material_{action}")


@page("materials.moderate", form_bytes=POSTER_FORM_BYTES)
async def add(visit: Visit) -> Response:
    live = chosen(visit)
    fields = {k: v for k, v in visit.form.items() if isinstance(v, str)} | {
        "campaign_id": live.campaign.id
    }
    files = [await f.read() for f in visit.form.getlist("image") if isinstance(f, UploadFile)]
    files = [raw for raw in files if raw]  # a form sent without a file has an empty one
    await materials.add_material(visit.gw, visit.actor, fields, files)
    return see_other(f"/console/materials?campaign={live.campaign.id}", "material_added")


routes = [
    Route("/console/materials", library, methods=["GET"]),
    Route("/console/materials", add, methods=["POST"]),
    Route("/console/materials/{mid}/images/{image}", image, methods=["GET"]),
    Route("/console/materials/{mid}/approve", moderate, methods=["POST"]),
    Route("/console/materials/{mid}/reject", moderate, methods=["POST"]),
    Route("/console/materials/{mid}/take-down", moderate, methods=["POST"]),
]
