"""POST /campaigns/{cid}/orders: reserve stock and create an order awaiting payment."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.clock import to_ms
from server.domain.campaign import Campaign
from server.domain.pools import plan_for
from server.domain.pricing import unit_price_due_fen
from server.errors import BadInput, Conflict, Forbidden, LiveroomError, NotFound
from server.gateway.context import gateway
from server.gateway.http import JSONResponse, read_json
from server.gateway.idempotency import HEADER, idempotency_key
from server.gateway.identity import attribution_of, identity_of
from server.gateway.schemas import OrderIn
from server.gateway.views import order_view
from server.store.stock import GroupAction, OrderRequest, Outcome

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud
_REFUSALS: dict[str, tuple[type[LiveroomError], str | None, str]] = {
    "sold_out": (Conflict, "qty", "not enough stock left for this order"),
    "limit_reached": (Conflict, "qty", "this order would pass the per-user limit"),
    "group_not_found": (NotFound, "group_code", "no group with this code"),
    "group_closed": (Conflict, "group_code", "this group is no longer open"),
    "group_full": (Conflict, "group_code", "this group is full"),
    "already_in_group": (Conflict, "group_code", "you are already in this group"),
    "group_code_taken": (Conflict, None, "could not find a free group code; retry"),
    "idempotency_mismatch": (BadInput, HEADER, "this key was used with another body"),
}
_OPEN_GROUP_ATTEMPTS = 3


async def create_order(request: Request) -> Response:
    gw = gateway(request)
    user = gw.viewer(request)
    live = gw.runtime.live(request.path_params["cid"])
    body = await read_json(request, OrderIn)
    action, code = _group_choice(body)
    key = idempotency_key(request) or ""
    campaign = live.campaign
    now = gw.runtime.clock.now()
    rules = campaign.window(body.mode)
    if not rules.is_open(now):
        raise Conflict(f"{body.mode} orders are not open now", "mode", "window_closed")
    plan = plan_for(campaign, body.mode)
    if not key and live.sold_out(plan, body.qty):
        # Known sold out in this process (kept current by the scripts' stock messages), so
        # answered without Redis. A keyed request still goes to the script: it may be the
        # retry of an order placed before the stock ran out, owed its replay.
        return _answer(Outcome("sold_out", None), campaign)
    who = await identity_of(gw.identities, live.orders, campaign, user)
    attribution = await attribution_of(gw.identities, campaign, who, body.ref)
    unit_price = unit_price_due_fen(campaign, body.mode, who)
    if body.offer == "depositor_group":
        if not (who.depositor and await live.orders.depositor_offer_open()):
            raise Forbidden(
                "the depositor offer is for depositors once it opens", "offer", "not_eligible"
            )
        unit_price = campaign.depositor_group.price_fen
    now_ms = to_ms(now)
    base = OrderRequest(
        user=user,
        mode=body.mode,
        qty=body.qty,
        limit=rules.per_user_limit,
        plan=plan,
        unit_price_fen=unit_price,
        pay_before_ms=now_ms + rules.pay_within_s * 1000,
        idempotency_key=key,
        body_hash=_body_hash(campaign.id, body),
        group_action=action,
        group_code=code,
        ref=body.ref or "",
        attribution=orjson.dumps(attribution.as_dict()).decode(),
        **_group_terms(campaign, action, now_ms),
    )
    outcome = await live.reserve.submit(base)
    for _ in range(_OPEN_GROUP_ATTEMPTS - 1):
        if outcome.code != "group_code_taken":
            break
        outcome = await live.reserve.submit(_with_code(base, _new_code()))
    if outcome.code == "ok" and attribution.level1:  # volume decides the rate tier
        await gw.identities.add_volume(attribution.level1, body.qty)
    if outcome.code == "ok" and body.offer == "depositor_group":
        await live.orders.count("depositors.converted")
    return _answer(outcome, campaign)


def _no_group_fields(body: OrderIn, why: str) -> tuple[GroupAction, str]:
    for name in ("group_code", "open_group"):
        if getattr(body, name) is not None:
            raise BadInput(f"{name} {why}", name)
    return "", ""


def _group_choice(body: OrderIn) -> tuple[GroupAction, str]:
    if body.offer is not None:  # the depositors' exclusive group is one audience, no code
        if body.mode != "group":
            raise BadInput("the depositor offer is a group-buy offer: mode 'group'", "offer")
        return _no_group_fields(body, "does not go with offer")
    if body.mode != "group":
        return _no_group_fields(body, "applies to mode 'group' only")
    if body.open_group and body.group_code is not None:
        raise BadInput("give group_code to join or open_group to open, not both", "group_code")
    if body.open_group:
        return "open", _new_code()
    if body.group_code is None:
        raise BadInput("a group order needs group_code (join) or open_group: true", "group_code")
    return "join", body.group_code


def _group_terms(campaign: Campaign, action: GroupAction, now_ms: int) -> dict[str, int]:
    if action != "open":
        return {}
    group = campaign.group
    expires = min(now_ms + group.validity_s * 1000, to_ms(group.closes_at))
    return {"group_capacity": group.capacity, "group_expires_ms": expires}


def _with_code(request: OrderRequest, code: str) -> OrderRequest:
    return replace(request, group_code=code)


def _new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


def _body_hash(campaign_id: str, body: OrderIn) -> str:
    fields = {"campaign": campaign_id, **body.model_dump()}
    canonical = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()[:32]


def _answer(outcome: Outcome, campaign: Campaign) -> Response:
    if outcome.accepted:
        assert outcome.order is not None
        return JSONResponse(order_view(outcome.order, campaign.timezone), status_code=201)
    error, field, message = _REFUSALS.get(outcome.code, (Conflict, None, outcome.code))
    raise error(message, field, outcome.code)


routes = [Route("/campaigns/{cid}/orders", create_order, methods=["POST"])]
