"""The big screen's page (/dashboard/): its words from the catalogue, everything else from
the dashboard feed and the trend it asks for with its screen token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.i18n import sections
from server.pages.templates import templates

_SECTIONS = ("screen", "phase", "mode", "channel")


async def big_screen(request: Request) -> Response:
    return templates().TemplateResponse(
        request, "bigscreen.html", {"data": {"messages": sections(*_SECTIONS)}}
    )


routes = [Route("/dashboard/", big_screen)]
