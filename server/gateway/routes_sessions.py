"""Viewer sessions: POST /sessions, the demo and test login (on only when configuration
allows it), and POST /sessions/host, a real viewer's, vouched for by the host platform."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.errors import Forbidden
from server.gateway.context import gateway
from server.gateway.http import JSONResponse, parse_json, read_body
from server.gateway.schemas import SessionIn, SessionOut, StrictBody


async def create_session(request: Request) -> Response:
    gw = gateway(request)
    if not gw.settings.demo_login:
        raise Forbidden("demo login is disabled", None, "demo_login_disabled")
    raw = await read_body(request)
    body = parse_json(raw, SessionIn)
    gw.rate_limits.check("sessions", body.user_id, request.client.host if request.client else None)

    async def issue() -> tuple[int, Any]:
        token, expires = gw.tokens.issue(body.user_id)
        session: SessionOut = {
            "token": token,
            "expires_at": expires.isoformat(),
            "user_id": body.user_id,
        }
        return 201, session

    return await gw.idempotency.run(request, "sessions", body.user_id, raw, issue)


routes = [Route("/sessions", create_session, methods=["POST"])]


class HostSessionIn(StrictBody):
    assertion: Annotated[str, Field(min_length=1, max_length=4096)]


async def create_host_session(request: Request) -> Response:
    gw = gateway(request)
    body = parse_json(await read_body(request), HostSessionIn)
    address = request.client.host if request.client else None
    gw.rate_limits.check("sessions", None, address)
    user = gw.host_assertions.user(body.assertion)
    gw.rate_limits.check("sessions", user, None)
    token, expires = gw.tokens.issue(user)
    session: SessionOut = {"token": token, "expires_at": expires.isoformat(), "user_id": user}
    return JSONResponse(session, status_code=201)


routes.append(Route("/sessions/host", create_host_session, methods=["POST"]))
