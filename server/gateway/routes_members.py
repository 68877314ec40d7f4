"""PUT /ops/users/{uid}: a user's member tier (the CRM's word)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.errors import BadInput
from server.gateway.auth import USER_ID_RE
from server.gateway.context import gateway
from server.gateway.http import JSONResponse, parse_json, read_body
from server.gateway.schemas import CAMPAIGN_ID_PATTERN, StrictBody
from server.ops import people
from server.ops.audit import AUTOMATION


class MemberIn(StrictBody):
    member_tier: Annotated[str, Field(pattern=CAMPAIGN_ID_PATTERN)] | None


async def set_member(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    user = request.path_params["uid"]
    if not USER_ID_RE.fullmatch(user):
        raise BadInput("1-64 letters, digits, '_', '.' or '-'", "user_id")
    body = parse_json(await read_body(request), MemberIn)
    return JSONResponse(await people.set_member(gw, AUTOMATION, user, body.member_tier))


routes = [Route("/ops/users/{uid}", set_member, methods=["PUT"])]
