"""Distributors and community links: recruitment, the distributor's own view (earnings by
state, downline, orders through their link, withdrawals), and ops' approvals and payouts."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.privacy import mask_user
from server.domain.touches import source_of
from server.errors import BadInput, Conflict, Forbidden, NotFound
from server.gateway.context import Gateway, gateway
from server.gateway.http import JSONResponse, parse_json, parse_params, read_body
from server.gateway.schemas import (
    CAMPAIGN_ID_PATTERN,
    LINK_CODE_PATTERN,
    DisplayNameIn,
    NoFields,
    StrictBody,
)
from server.ledger.queries import (
    commissions_of,
    downline_of,
    orders_via,
    withdrawals_of,
)
from server.ops import distribution
from server.ops.audit import AUTOMATION
from server.runtime import LiveCampaign


class DistributorIn(StrictBody):
    upline: Annotated[str, Field(pattern=LINK_CODE_PATTERN)] | None = None
    campaign_id: Annotated[str, Field(pattern=CAMPAIGN_ID_PATTERN)] | None = None


class CommunityIn(StrictBody):
    name: Annotated[str, Field(min_length=1, max_length=60)]
    campaign_id: Annotated[str, Field(pattern=CAMPAIGN_ID_PATTERN)] | None = None


class CampaignChoice(StrictBody):
    campaign_id: Annotated[str, Field(pattern=CAMPAIGN_ID_PATTERN)] | None = None


class WithdrawalIn(StrictBody):
    amount_fen: Annotated[int, Field(gt=0, le=100_000_000)]


class DecisionIn(StrictBody):
    reason: Annotated[str, Field(min_length=1, max_length=200)] | None = None


def share_link(campaign_id: str, code: str) -> str:
    return f"/live/{campaign_id}?ref={code}"


def _chosen(gw: Gateway, campaign_id: str | None, fallback: str | None = None) -> LiveCampaign:
    """The campaign asked for; else `fallback` (a link's own); else the only one running."""
    chosen = campaign_id or fallback
    if chosen is None:
        if len(gw.runtime.campaigns) != 1:
            raise BadInput("say which campaign", "campaign_id")
        chosen = next(iter(gw.runtime.campaigns))
    return gw.runtime.live(chosen)


async def become_distributor(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request.headers)
    body = parse_json(await read_body(request), DistributorIn)
    live = _chosen(gw, body.campaign_id)
    rules = live.campaign.distribution
    if rules is None:
        raise Conflict("this campaign has no distributors", "campaign_id", "no_distribution")
    if rules.recruitment == "spend":
        spent = 0
        for other in gw.runtime.campaigns.values():
            spent += sum(
                o["paid_fen"] - o["refunded_fen"] for o in await other.orders.orders_of(user)
            )
        if spent < rules.recruitment_min_spend_fen:
            raise Forbidden(
                f"recruitment needs {rules.recruitment_min_spend_fen} fen spent",
                None,
                "spend_too_low",
            )
    status = "pending" if rules.recruitment == "approval" else "active"
    result, record = await gw.identities.register(
        gw.runtime.clock.now_ms(),
        user,
        distribution.new_code("D"),
        body.upline or "",
        status,
        live.campaign.id,
    )
    if result == "bad_upline":
        raise BadInput("no active distributor with this code", "upline", "bad_upline")
    if result == "code_taken":
        raise Conflict("could not find a free code; retry", None, "retry")
    assert record is not None
    answer = _distributor_view(live.campaign.id, record)
    return JSONResponse(answer, status_code=201 if result == "created" else 200)


async def my_distribution(request: Request) -> Response:
    """Everything a distributor sees of their own: link, earnings by state, withdrawable
    balance, downline, orders through their link, withdrawals. Share links point at the
    campaign asked for (default: the one that recruited them)."""
    gw = gateway(request)
    user = gw.viewer(request.headers)
    query = parse_params(dict(request.query_params), CampaignChoice)
    record = await own_record(gw, user)
    live = _chosen(gw, query.campaign_id, record.get("campaign_id") or None)
    code = record["code"]
    summary = await commissions_of(gw.ledger, code)
    downline = await downline_of(gw.ledger, code)
    through = await orders_via(gw.ledger, code)
    asked = await withdrawals_of(gw.ledger, code)
    source = source_of(code, None)
    stats = (await live.orders.link_stats([source]))[source]
    return JSONResponse(
        {
            **_distributor_view(live.campaign.id, record),
            **summary,
            "downline": [
                {
                    "code": d["code"],
                    "user": mask_user(d["user_id"] or ""),
                    "status": d["status"],
                    "joined_at_ms": d["created_at_ms"],
                }
                for d in downline
            ],
            "orders": through,
            "withdrawals": asked,
            "display_name": await gw.identities.display_name(code),
            "link": {"views": stats["view"], "clicks": stats["click"]},
        }
    )


async def request_withdrawal(request: Request) -> Response:
    """Ask for (part of) the settled balance: a request in ops' payout queue."""
    gw = gateway(request)
    user = gw.viewer(request.headers)
    body = parse_json(await read_body(request), WithdrawalIn)
    code = (await own_record(gw, user))["code"]
    async with distribution.one_at_a_time(gw, code):
        summary = await commissions_of(gw.ledger, code)
        if body.amount_fen > summary["withdrawable_fen"]:
            raise Conflict(
                f"at most {summary['withdrawable_fen']} fen can be withdrawn now",
                "amount_fen",
                "withdrawal_too_large",
            )
        asked = {
            "id": "W" + secrets.token_hex(8),
            "distributor": code,
            "amount_fen": body.amount_fen,
            "status": "requested",
            "requested_at_ms": gw.runtime.clock.now_ms(),
        }
        await gw.identities.record_withdrawal(asked)
        await distribution.ledger_caught_up(gw)
    return JSONResponse(asked, status_code=201)


async def add_community(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    body = parse_json(await read_body(request), CommunityIn)
    live = _chosen(gw, body.campaign_id)
    record = await distribution.add_community(gw, AUTOMATION, live.campaign.id, body.name)
    return JSONResponse(
        {**record, "share_link": share_link(live.campaign.id, record["code"])}, status_code=201
    )


async def approve_distributor(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    parse_json(await read_body(request), NoFields)
    record = await distribution.approve(gw, AUTOMATION, request.path_params["code"])
    live = _chosen(gw, None, record.get("campaign_id") or None)
    return JSONResponse(_distributor_view(live.campaign.id, record))


async def pay_out(request: Request) -> Response:
    """Pay a distributor their whole positive balance (recorded; the transfer is outside)."""
    gw = gateway(request)
    gw.require_ops(request)
    parse_json(await read_body(request), CampaignChoice)
    code = request.path_params["code"]
    return JSONResponse(
        {"code": code, "paid_out_fen": await distribution.pay_out(gw, AUTOMATION, code)}
    )


async def decide_withdrawal(request: Request) -> Response:
    """Ops pay a withdrawal request (a payout of its amount) or reject it with a reason."""
    gw = gateway(request)
    gw.require_ops(request)
    body = parse_json(await read_body(request), DecisionIn)
    pay = request.url.path.endswith("/pay")
    decided = await distribution.decide_withdrawal(
        gw, AUTOMATION, request.path_params["wid"], pay, body.reason
    )
    return JSONResponse(decided)


async def own_record(gw: Gateway, user: str) -> dict[str, Any]:
    code = await gw.identities.distributor_code(user)
    record = await gw.identities.link(code) if code else None
    if record is None:
        raise NotFound("you are not a distributor", None, "not_a_distributor")
    return record


async def set_display_name(request: Request) -> Response:
    """The name the big screen's leaderboard shows for this distributor."""
    gw = gateway(request)
    user = gw.viewer(request.headers)
    body = parse_json(await read_body(request), DisplayNameIn)
    record = await own_record(gw, user)
    name = body.display_name.strip() if body.display_name else None
    await gw.identities.set_display_name(record["code"], name)
    return JSONResponse({"code": record["code"], "display_name": name})


def _distributor_view(campaign_id: str, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": record["code"],
        "status": record["status"],
        "upline": record["upline"] or None,
        "campaign_id": campaign_id,
        "share_link": share_link(campaign_id, record["code"]),
    }


routes = [
    Route("/distributors", become_distributor, methods=["POST"]),
    Route("/distributors/me", my_distribution, methods=["GET"]),
    Route("/distributors/me/withdrawals", request_withdrawal, methods=["POST"]),
    Route("/distributors/me/display-name", set_display_name, methods=["PUT"]),
    Route("/ops/communities", add_community, methods=["POST"]),
    Route("/ops/distributors/{code}/approve", approve_distributor, methods=["POST"]),
    Route("/ops/distributors/{code}/payouts", pay_out, methods=["POST"]),
    Route("/ops/withdrawals/{wid}/pay", decide_withdrawal, methods=["POST"]),
    Route("/ops/withdrawals/{wid}/reject", decide_withdrawal, methods=["POST"]),
]
