"""POST /campaigns/{cid}/orders: reserve stock and create an order awaiting payment."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import replace

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.clock import to_ms
from server.domain.campaign import Campaign
from server.domain.pricing import unit_price_due_fen
from server.errors import Forbidden
from server.gateway.context import Gateway, gateway
from server.gateway.http import JSONResponse, read_body
from server.gateway.identity import attribution_of, identity_of
from server.gateway.order_intake import (
    OrderIntake,
    refusal,
    sold_out,
    take_in,
)
from server.gateway.schemas import OrderIn
from server.gateway.views import order_view
from server.store.stock import OrderRequest, Outcome

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud
_OPEN_GROUP_ATTEMPTS = 3


async def create_order(request: Request) -> Response:
    """The route: in the app, the order lane serves these requests before routing (see
    order_lane.py); the route keeps the endpoint whole where the lane is not installed."""
    gw = gateway(request)
    raw = await read_body(request)
    address = request.client.host if request.client else None
    intake = take_in(gw, request.headers, address, request.path_params["cid"], raw)
    if intake.known_sold_out():  # answered without Redis: the scripts said so
        return sold_out()
    return await place_order(gw, intake)


async def place_order(gw: Gateway, intake: OrderIntake) -> Response:
    """Reserve stock for a checked order not known to be sold out: 201 with the order, or
    the script's refusal."""
    live, body, campaign = intake.live, intake.body, intake.live.campaign
    who = await identity_of(gw.identities, live.orders, campaign, intake.user)
    attribution = await attribution_of(gw.identities, live.orders, campaign, who, body.ref)
    unit_price = unit_price_due_fen(campaign, body.mode, who)
    if body.offer == "depositor_group":
        if not (who.depositor and await live.orders.depositor_offer_open()):
            raise Forbidden(
                "the depositor offer is for depositors once it opens", "offer", "not_eligible"
            )
        unit_price = campaign.offer_rules.price_fen
    now_ms = intake.now_ms
    action = intake.group_action
    base = OrderRequest(
        user=intake.user,
        mode=body.mode,
        qty=body.qty,
        limit=intake.rules.per_user_limit,
        plan=intake.plan,
        unit_price_fen=unit_price,
        pay_before_ms=now_ms + intake.rules.pay_within_s * 1000,
        idempotency_key=intake.idempotency_key,
        body_hash=_body_hash(campaign.id, body),
        group_action=action,
        group_code=_new_code() if action == "open" else intake.group_code,
        ref=body.ref or "",
        attribution=attribution,
    )
    if action == "open":
        base = _opening(base, campaign, now_ms)
    outcome = await live.reserve.submit(base)
    for _ in range(_OPEN_GROUP_ATTEMPTS - 1):
        if outcome.code != "group_code_taken":
            break
        outcome = await live.reserve.submit(_with_code(base, _new_code()))
    if outcome.code == "ok" and body.offer == "depositor_group":
        await live.orders.count("depositors.converted")
    return _answer(outcome, campaign)


def _opening(request: OrderRequest, campaign: Campaign, now_ms: int) -> OrderRequest:
    """An order that opens a group, with the group's size and expiry."""
    group = campaign.group_rules
    expires = min(now_ms + group.validity_s * 1000, to_ms(group.closes_at))
    return replace(request, group_capacity=group.capacity, group_expires_ms=expires)


def _with_code(request: OrderRequest, code: str) -> OrderRequest:
    return replace(request, group_code=code)


def _new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


@functools.lru_cache(maxsize=4096)  # the spike repeats a few bodies (OrderIn is frozen)
def _body_hash(campaign_id: str, body: OrderIn) -> str:
    fields = {"campaign": campaign_id, **body.model_dump()}
    canonical = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()[:32]


def _answer(outcome: Outcome, campaign: Campaign) -> Response:
    if outcome.accepted:
        assert outcome.order is not None
        return JSONResponse(order_view(outcome.order, campaign.timezone), status_code=201)
    return refusal(outcome.code)


routes = [Route("/campaigns/{cid}/orders", create_order, methods=["POST"])]
