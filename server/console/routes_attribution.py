"""Attribution analysis in the console: how the modes fed each other and where buyers came
from (server/domain/attribution.py says what each figure means), and the same as CSV."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from server.console.csv_export import attribution_rows, csv_response
from server.console.guard import Visit, page, render
from server.console.routes_finance import chosen
from server.domain.attribution import CHANNELS
from server.i18n import t
from server.ops.attribution import labelled


@page("campaign.view")
async def attribution(visit: Visit) -> Response:
    live = chosen(visit)
    found, names = await labelled(visit.gw, live)
    return render(
        visit,
        "console/attribution.html",
        live=live,
        report=found,
        names=names,
        channels=CHANNELS,
        sources_shown=SOURCES_ON_PAGE,
        campaigns=list(visit.gw.runtime.campaigns.values()),
    )


@page("campaign.view")
async def attribution_csv(visit: Visit) -> Response:
    live = chosen(visit)
    found, names = await labelled(visit.gw, live)
    header = t("attribution.csv_header").split("|")
    return csv_response(f"{live.campaign.id}-attribution", header, attribution_rows(found, names))


SOURCES_ON_PAGE = 30  # the CSV has every source the report lists


routes = [
    Route("/console/attribution", attribution, methods=["GET"]),
    Route("/console/attribution.csv", attribution_csv, methods=["GET"]),
]
