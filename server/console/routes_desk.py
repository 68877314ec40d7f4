"""The broadcast desk: the live figures beside the actions ops take during the broadcast
(the presale -> group move now or at a time, pausing a mode, opening or closing a window,
a notice to every live room). Each action is a plain form answered with a redirect, so a
double click or a reload never repeats it silently."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.responses import Response
from starlette.routing import Route

from server.clock import from_ms
from server.console.guard import Visit, page, render, see_other
from server.domain.campaign import MODES, Mode
from server.errors import BadInput
from server.ops import broadcast
from server.runtime import LiveCampaign

NOTICE_LIMIT = 60  # one line on a phone's banner


def _live(visit: Visit) -> LiveCampaign:
    return visit.gw.runtime.live(visit.request.path_params["cid"])


def _mode(visit: Visit) -> Mode:
    mode = visit.request.path_params["mode"]
    if mode not in MODES:
        raise BadInput("no such mode", "mode")
    return mode  # type: ignore[no-any-return]


def _desk(visit: Visit, done: str) -> Response:
    return see_other(f"/console/c/{visit.request.path_params['cid']}/desk", done)


@page("desk.act")
async def desk(visit: Visit) -> Response:
    live = _live(visit)
    orders = live.orders
    scheduled = await orders.deadline(broadcast.OFFER_DEADLINE)
    now = visit.gw.runtime.clock.now()
    return render(
        visit,
        "console/desk.html",
        live=live,
        now=now,
        windows={m: live.campaign.window(m).is_open(now) for m in live.campaign.modes},
        figures=await visit.gw.hubs.for_campaign(live.campaign.id).figures(),
        depositors=await orders.depositor_count(),
        offer_open=await orders.depositor_offer_open(),
        scheduled=from_ms(scheduled) if scheduled is not None else None,
        notice_limit=NOTICE_LIMIT,
        goals=await _goals(live),
    )


async def _goals(live: LiveCampaign) -> dict[str, str]:
    target, kaiqiang = await live.orders.screen_goals()
    zone = ZoneInfo(live.campaign.timezone)
    return {
        "target": str(target // 100) if target else "",
        "kaiqiang": from_ms(kaiqiang).astimezone(zone).strftime("%Y-%m-%dT%H:%M")
        if kaiqiang
        else "",
    }


@page("desk.act")
async def figures(visit: Visit) -> Response:
    """htmx, every two seconds: the figures beside the actions."""
    live = _live(visit)
    return render(
        visit,
        "console/_desk_figures.html",
        live=live,
        figures=await visit.gw.hubs.for_campaign(live.campaign.id).figures(),
    )


@page("desk.act")
async def offer_now(visit: Visit) -> Response:
    result = await broadcast.presale_to_group(visit.gw, visit.actor, _live(visit).campaign.id)
    return _desk(visit, "offer_opened" if result["result"] == "opened" else "offer_already")


@page("desk.act")
async def offer_at(visit: Visit) -> Response:
    live = _live(visit)
    text = visit.text("at", 40)
    try:
        at = datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(live.campaign.timezone))
    except ValueError:
        raise BadInput("a date and time, like 2026-09-06T20:00", "at") from None
    await broadcast.schedule_presale_to_group(visit.gw, visit.actor, live.campaign.id, at)
    return _desk(visit, "offer_scheduled")


@page("desk.act")
async def pause(visit: Visit) -> Response:
    paused = visit.request.url.path.endswith("/pause")
    await broadcast.set_paused(
        visit.gw, visit.actor, _live(visit).campaign.id, _mode(visit), paused
    )
    return _desk(visit, "paused" if paused else "resumed")


@page("desk.act")
async def window(visit: Visit) -> Response:
    edge = "open" if visit.request.url.path.endswith("/open") else "close"
    await broadcast.move_window(visit.gw, visit.actor, _live(visit).campaign.id, _mode(visit), edge)
    return _desk(visit, f"window_{edge}")


@page("desk.act")
async def screen_goals(visit: Visit) -> Response:
    """The big screen's GMV target (yuan) and 开抢 countdown."""
    live = _live(visit)
    target = visit.text("target", 16) or "0"
    if not target.isdigit():
        raise BadInput("whole yuan, like 1000000", "target")
    given = visit.text("kaiqiang", 40)
    try:
        zone = ZoneInfo(live.campaign.timezone)
        kaiqiang = datetime.fromisoformat(given).replace(tzinfo=zone) if given else None
    except ValueError:
        raise BadInput("a date and time, like 2026-09-06T20:00", "kaiqiang") from None
    await broadcast.set_screen_goals(
        visit.gw, visit.actor, live.campaign.id, int(target) * 100, kaiqiang
    )
    return _desk(visit, "screen_goals")


@page("desk.act")
async def notice(visit: Visit) -> Response:
    text = "" if visit.text("clear", 10) else visit.text("text", 200)
    if not text and not visit.text("clear", 10):
        raise BadInput("say what the live rooms should show", "text")
    if len(text) > NOTICE_LIMIT:
        raise BadInput(f"at most {NOTICE_LIMIT} characters", "text")
    await broadcast.push_notice(visit.gw, visit.actor, _live(visit).campaign.id, text)
    return _desk(visit, "notice_pushed" if text else "notice_cleared")


_DESK = "/console/c/{cid}/desk"
routes = [
    Route(_DESK, desk, methods=["GET"]),
    Route(_DESK + "/figures", figures, methods=["GET"]),
    Route(_DESK + "/offer", offer_now, methods=["POST"]),
    Route(_DESK + "/offer-at", offer_at, methods=["POST"]),
    Route(_DESK + "/{mode}/pause", pause, methods=["POST"]),
    Route(_DESK + "/{mode}/resume", pause, methods=["POST"]),
    Route(_DESK + "/{mode}/open", window, methods=["POST"]),
    Route(_DESK + "/{mode}/close", window, methods=["POST"]),
    Route(_DESK + "/notice", notice, methods=["POST"]),
    Route(_DESK + "/screen", screen_goals, methods=["POST"]),
]
