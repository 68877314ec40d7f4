"""The broadcast desk's calls: the presale -> group move (now or at a time), notices to every
live room, pausing and resuming a mode, opening or closing a window early."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.campaign import MODES, Mode
from server.errors import NotFound
from server.gateway.context import gateway
from server.gateway.http import JSONResponse, parse_json, read_body
from server.gateway.schemas import NoFields, StrictBody
from server.ops import broadcast
from server.ops.audit import AUTOMATION


class MoveIn(StrictBody):
    """Now, or at a moment of campaign time."""

    at: AwareDatetime | None = None


class NoticeIn(StrictBody):
    text: Annotated[str, Field(min_length=1, max_length=120)]


async def presale_to_group(request: Request) -> Response:
    """Open the exclusive depositor group offer and notify every depositor, once; with `at`,
    at that moment instead."""
    gw = gateway(request)
    gw.require_ops(request)
    body = parse_json(await read_body(request), MoveIn)
    cid = request.path_params["cid"]
    if body.at is not None:
        await broadcast.schedule_presale_to_group(gw, AUTOMATION, cid, body.at)
        return JSONResponse({"result": "scheduled", "at": body.at.isoformat()}, status_code=202)
    return JSONResponse(await broadcast.presale_to_group(gw, AUTOMATION, cid))


async def push_notice(request: Request) -> Response:
    """The host's words to every live room ("开抢！", "还剩 100 盒"): a banner, kept as the
    latest notice so a viewer who opens the page later still sees it."""
    gw = gateway(request)
    gw.require_ops(request)
    body = parse_json(await read_body(request), NoticeIn)
    notice = await broadcast.push_notice(gw, AUTOMATION, request.path_params["cid"], body.text)
    return JSONResponse(notice, status_code=201)


async def clear_notice(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    return JSONResponse(await broadcast.push_notice(gw, AUTOMATION, request.path_params["cid"], ""))


async def pause_or_resume(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    parse_json(await read_body(request), NoFields)
    mode = _mode(request)
    paused = request.url.path.endswith("/pause")
    after = await broadcast.set_paused(gw, AUTOMATION, request.path_params["cid"], mode, paused)
    return JSONResponse({"paused": after})


async def open_or_close(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    parse_json(await read_body(request), NoFields)
    mode = _mode(request)
    edge = request.url.path.rsplit("/", 1)[1]  # open | close
    version = await broadcast.move_window(gw, AUTOMATION, request.path_params["cid"], mode, edge)
    return JSONResponse({"version": version})


def _mode(request: Request) -> Mode:
    mode = request.path_params["mode"]
    for known in MODES:
        if mode == known:
            return known
    raise NotFound(f"no mode {mode!r}", "mode")


_MODE = "/ops/campaigns/{cid}/modes/{mode}"

routes = [
    Route("/ops/campaigns/{cid}/presale-to-group", presale_to_group, methods=["POST"]),
    Route("/ops/campaigns/{cid}/notices", push_notice, methods=["POST"]),
    Route("/ops/campaigns/{cid}/notices", clear_notice, methods=["DELETE"]),
    *(Route(f"{_MODE}/{a}", pause_or_resume, methods=["POST"]) for a in ("pause", "resume")),
    *(Route(f"{_MODE}/{a}", open_or_close, methods=["POST"]) for a in ("open", "close")),
]
