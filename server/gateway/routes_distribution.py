"""Distributors, share links, member tiers and quotes: the one user pool at the edge."""

from __future__ import annotations

import asyncio
import secrets
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.domain.pricing import Option, quote
from server.errors import BadInput, Conflict, Forbidden, NotFound, Unavailable
from server.gateway.auth import USER_ID_RE
from server.gateway.context import Gateway, gateway
from server.gateway.http import JSONResponse, read_body, read_json
from server.gateway.identity import identity_of
from server.gateway.schemas import CAMPAIGN_ID_PATTERN, LINK_CODE_PATTERN, StrictBody
from server.gateway.wording import effect_text, identity_line
from server.i18n import t, yuan
from server.ledger.consumer import backlog
from server.ledger.queries import commissions_of

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class DistributorIn(StrictBody):
    upline: Annotated[str, Field(pattern=LINK_CODE_PATTERN)] | None = None
    campaign_id: Annotated[str, Field(pattern=CAMPAIGN_ID_PATTERN)] | None = None


class CommunityIn(StrictBody):
    name: Annotated[str, Field(min_length=1, max_length=60)]


class MemberIn(StrictBody):
    member_tier: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] | None


def _code(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(7))


def share_link(campaign_id: str, code: str) -> str:
    return f"/live/{campaign_id}?ref={code}"


async def become_distributor(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request.headers)
    body = await read_json(request, DistributorIn)
    if body.campaign_id is None and len(gw.runtime.campaigns) != 1:
        raise BadInput("say which campaign recruits you", "campaign_id")
    live = gw.runtime.live(body.campaign_id or next(iter(gw.runtime.campaigns)))
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
        gw.runtime.clock.now_ms(), user, _code("D"), body.upline or "", status
    )
    if result == "bad_upline":
        raise BadInput("no active distributor with this code", "upline", "bad_upline")
    if result == "code_taken":
        raise Conflict("could not find a free code; retry", None, "retry")
    assert record is not None
    return JSONResponse(
        _distributor_view(live.campaign.id, record), status_code=201 if result == "created" else 200
    )


async def my_commissions(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request.headers)
    code = await gw.identities.distributor_code(user)
    record = await gw.identities.link(code) if code else None
    if record is None:
        raise NotFound("you are not a distributor", None, "not_a_distributor")
    try:
        summary = await commissions_of(gw.ledger, record["code"])
    except (OperationalError, DBAPIError) as exc:
        raise Unavailable(f"the ledger is not available: {exc.__class__.__name__}") from None
    campaign_id = next(iter(gw.runtime.campaigns), "")
    return JSONResponse({**_distributor_view(campaign_id, record), **summary})


async def get_quote(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request.headers)
    live = gw.runtime.live(request.path_params["cid"])
    who = await identity_of(gw.identities, live.orders, live.campaign, user)
    offer_open = await live.orders.depositor_offer_open()
    q = quote(live.campaign, who, gw.runtime.clock.now(), offer_open)
    return JSONResponse(
        {
            "campaign_id": live.campaign.id,
            "identities": {
                "member_tier": who.member.id if who.member else None,
                "distributor_code": who.distributor_code,
                "depositor": who.depositor,
            },
            "options": [_option_view(o) for o in q.options],
            "applies": _option_view(q.applies) if q.applies else None,
            "distributor_effect": effect_text(q.distributor_effect)
            if q.distributor_effect
            else None,
            "identity_line": identity_line(q),
        }
    )


async def add_community(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    body = await read_json(request, CommunityIn)
    record = await gw.identities.add_community(gw.runtime.clock.now_ms(), _code("C"), body.name)
    campaign_id = next(iter(gw.runtime.campaigns), "")
    return JSONResponse(
        {**record, "share_link": share_link(campaign_id, record["code"])}, status_code=201
    )


async def approve_distributor(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    await read_body(request)
    record = await gw.identities.approve(request.path_params["code"])
    if record is None:
        raise NotFound("no distributor with this code", "code")
    return JSONResponse(_distributor_view(next(iter(gw.runtime.campaigns), ""), record))


async def pay_out(request: Request) -> Response:
    """Pay a distributor their whole positive balance (recorded; the transfer is outside)."""
    gw = gateway(request)
    gw.require_ops(request)
    await read_body(request)
    code = request.path_params["code"]
    record = await gw.identities.link(code)
    if record is None or record.get("kind") != "distributor":
        raise NotFound("no distributor with this code", "code")
    if not await gw.identities.payout_lock(code):
        raise Conflict("a payout for this distributor is in progress", None, "in_progress")
    try:
        await _ledger_caught_up(gw)
        summary = await commissions_of(gw.ledger, code)
        amount = max(0, summary["balance_fen"])
        if amount:
            await gw.identities.record_payout(code, amount)
            await _ledger_caught_up(gw)
    finally:
        await gw.identities.payout_unlock(code)
    return JSONResponse({"code": code, "paid_out_fen": amount})


async def _ledger_caught_up(gw: Gateway, seconds: float = 5.0) -> None:
    """Payouts read balances from the ledger: wait (bounded) for the worker to catch up."""
    deadline = asyncio.get_running_loop().time() + seconds
    campaigns = list(gw.runtime.campaigns)
    while asyncio.get_running_loop().time() < deadline:
        if await backlog(gw.runtime.redis, gw.settings.key_prefix, campaigns) == 0:
            return
        await asyncio.sleep(0.05)
    raise Unavailable("the ledger is behind; retry the payout")


async def set_member(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    user = request.path_params["uid"]
    if not USER_ID_RE.fullmatch(user):
        raise BadInput("1-64 letters, digits, '_', '.' or '-'", "user_id")
    body = await read_json(request, MemberIn)
    tiers = {m.id for live in gw.runtime.campaigns.values() for m in live.campaign.members}
    if body.member_tier is not None and body.member_tier not in tiers:
        raise BadInput(f"no member tier {body.member_tier!r}", "member_tier")
    return JSONResponse(await gw.identities.set_member_tier(user, body.member_tier))


def _distributor_view(campaign_id: str, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": record["code"],
        "status": record["status"],
        "upline": record["upline"] or None,
        "share_link": share_link(campaign_id, record["code"]),
    }


def _option_view(option: Option) -> dict[str, Any]:
    return {
        "offer": option.offer,
        "mode": option.mode,
        "unit_price_fen": option.unit_price_fen,
        "due_now_fen": option.due_now_fen,
        "open": option.open,
        "effects": [effect_text(effect) for effect in option.effects],
    }


async def presale_to_group(request: Request) -> Response:
    """Open the exclusive depositor group offer and notify every depositor, once."""
    gw = gateway(request)
    gw.require_ops(request)
    await read_body(request)
    live = gw.runtime.live(request.path_params["cid"])
    campaign = live.campaign
    if campaign.depositor_group is None:
        raise Conflict("this campaign has no depositor offer", None, "no_offer")
    if gw.runtime.clock.now() < campaign.depositor_group.opens_at:
        raise Conflict("the depositor offer opens with the group-buy phase", None, "window_closed")
    depositors = await live.orders.depositors()
    price = campaign.depositor_group.price_fen
    balance = price - campaign.presale_rules.deposit_fen
    text = t("notice.depositor_offer", price=yuan(price), balance=yuan(balance))
    answer = await live.orders.open_depositor_offer(gw.runtime.clock.now_ms(), text, depositors)
    assert answer.record is not None
    return JSONResponse(
        {
            "result": answer.code,
            "depositors_notified": answer.record["depositors"],
            "price_fen": price,
            "balance_fen": balance,
        }
    )


async def my_notifications(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request.headers)
    found = []
    for live in gw.runtime.campaigns.values():
        for notice in await live.orders.notifications(user):
            found.append({**notice, "campaign_id": live.campaign.id})
    return JSONResponse({"notifications": found})


routes = [
    Route("/ops/campaigns/{cid}/presale-to-group", presale_to_group, methods=["POST"]),
    Route("/me/notifications", my_notifications, methods=["GET"]),
    Route("/distributors", become_distributor, methods=["POST"]),
    Route("/distributors/me", my_commissions, methods=["GET"]),
    Route("/campaigns/{cid}/quote", get_quote, methods=["GET"]),
    Route("/ops/communities", add_community, methods=["POST"]),
    Route("/ops/distributors/{code}/approve", approve_distributor, methods=["POST"]),
    Route("/ops/distributors/{code}/payouts", pay_out, methods=["POST"]),
    Route("/ops/users/{uid}", set_member, methods=["PUT"]),
]
