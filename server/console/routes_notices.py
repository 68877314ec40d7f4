"""Notices in the console: what went out of each kind, what the channel refused (with its
reason), and sending the refused ones again once the channel is fixed."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from server.console.guard import Visit, page, render, see_other
from server.console.routes_finance import chosen
from server.domain.notices import CATEGORY
from server.ledger import notice_outbox

STATES = ("sent", "inbox_only", "skipped", "pending", "failed")


@page("orders.view")
async def notices(visit: Visit) -> Response:
    live = chosen(visit)
    counts = await notice_outbox.summary(visit.gw.ledger, live.campaign.id)
    troubles = await notice_outbox.troubles(visit.gw.ledger, live.campaign.id)
    settings = visit.gw.settings
    return render(
        visit,
        "console/notices.html",
        live=live,
        kinds=list(CATEGORY),
        states=STATES,
        counts=counts,
        troubles=troubles,
        channel="webhook" if settings.notify_url else "inbox",
    )


@page("desk.act")
async def retry(visit: Visit) -> Response:
    live = chosen(visit)
    again = await notice_outbox.retry_failed(
        visit.gw.ledger, live.campaign.id, visit.gw.runtime.clock.now_ms()
    )
    await visit.gw.audit.record(
        visit.actor, "notices.retry", live.campaign.id, None, {"notices": again}
    )
    return see_other(f"/console/notices?campaign={live.campaign.id}", "notices_retried")


routes = [
    Route("/console/notices", notices, methods=["GET"]),
    Route("/console/notices/retry", retry, methods=["POST"]),
]
