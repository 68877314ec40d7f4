"""An order request's checks made without Redis, and the answers to refused orders.

Shared by the order route and the order lane in front of it (order_lane.py), so both
check the same things in the same order.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import orjson
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Send

from server.domain.campaign import ModeRules
from server.domain.pools import Plan
from server.errors import BadInput, Conflict, LiveroomError, NotFound
from server.gateway.context import Gateway
from server.gateway.http import (
    JSONResponse,
    error_body,
    error_response,
    parse_json,
)
from server.gateway.idempotency import HEADER, idempotency_key
from server.gateway.schemas import OrderIn
from server.runtime import LiveCampaign
from server.store.stock import GroupAction

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


def refusal(code: str) -> Response:
    """The answer to an order the reserve script refused."""
    error, field, message = _REFUSALS.get(code, (Conflict, None, code))
    return error_response(error(message, field, code))


def _refusal_body(code: str) -> bytes:
    _, field, message = _REFUSALS[code]
    return orjson.dumps(error_body(code, message, field))


# Encoded once, the same bytes as refusal("sold_out"): the 开抢 flood is mostly this
# answer, given from the sold-out flag without Redis.
_SOLD_OUT_BODY = _refusal_body("sold_out")


def sold_out() -> Response:
    # A new Response each time (cheap for ready bytes): a middleware may edit its headers.
    return Response(_SOLD_OUT_BODY, Conflict.status, media_type=JSONResponse.media_type)


_SOLD_OUT_HEADERS = sold_out().raw_headers


async def send_sold_out(send: Send) -> None:
    """sold_out() straight to the server, for the lane: the same bytes, no Response object."""
    headers = list(_SOLD_OUT_HEADERS)  # a copy: the server or a middleware may edit it
    await send({"type": "http.response.start", "status": Conflict.status, "headers": headers})
    await send({"type": "http.response.body", "body": _SOLD_OUT_BODY})


@dataclass(slots=True)
class OrderIntake:
    """An order request that passed every check made without Redis."""

    user: str
    live: LiveCampaign
    body: OrderIn
    group_action: GroupAction
    group_code: str
    idempotency_key: str
    rules: ModeRules
    plan: Plan
    now_ms: int

    def known_sold_out(self) -> bool:
        """Refusable without Redis: this process has heard the stock cannot serve it. A keyed
        request still goes to the script: it may be the retry of an order placed before the
        stock ran out, owed its replay."""
        return not self.idempotency_key and self.live.sold_out(self.body.mode, self.body.qty)


def take_in(
    gw: Gateway, headers: Headers, address: str | None, campaign_id: str, raw_body: bytes
) -> OrderIntake:
    """Check an order request in the order its errors are reported; raises the first."""
    user = gw.viewer(headers)
    gw.rate_limits.check("orders", user, address)  # every attempt counts, sold out or not
    live = gw.runtime.live(campaign_id)
    body, action, code = _order_body(raw_body)
    key = idempotency_key(headers) or ""
    now_ms = gw.runtime.clock.now_ms()
    if not live.is_open(body.mode, now_ms):
        raise Conflict(f"{body.mode} orders are not open now", "mode", "window_closed")
    if body.mode in live.paused:
        raise Conflict(f"{body.mode} orders are paused", "mode", "mode_paused")
    rules = live.campaign.window(body.mode)
    return OrderIntake(user, live, body, action, code, key, rules, live.plans[body.mode], now_ms)


# The 开抢 flood repeats a handful of small bodies: each is checked once (the result is
# immutable; a bad body raises and is not kept). Large bodies are checked every time.
_KEPT_BODY_BYTES = 256


def _order_body(raw: bytes) -> tuple[OrderIn, GroupAction, str]:
    if len(raw) <= _KEPT_BODY_BYTES:
        return _checked_small_body(raw)
    return _checked_body(raw)


def _checked_body(raw: bytes) -> tuple[OrderIn, GroupAction, str]:
    body = parse_json(raw, OrderIn)
    return (body, *_group_choice(body))


_checked_small_body = functools.lru_cache(maxsize=4096)(_checked_body)


def _no_group_fields(body: OrderIn, why: str) -> tuple[GroupAction, str]:
    for name in ("group_code", "open_group"):
        if getattr(body, name) is not None:
            raise BadInput(f"{name} {why}", name)
    return "", ""


def _group_choice(body: OrderIn) -> tuple[GroupAction, str]:
    """What the order does to a group; the code of a group to open is drawn by the route."""
    if body.offer is not None:  # the depositors' exclusive group is one audience, no code
        if body.mode != "group":
            raise BadInput("the depositor offer is a group-buy offer: mode 'group'", "offer")
        return _no_group_fields(body, "does not go with offer")
    if body.mode != "group":
        return _no_group_fields(body, "applies to mode 'group' only")
    if body.open_group and body.group_code is not None:
        raise BadInput("give group_code to join or open_group to open, not both", "group_code")
    if body.open_group:
        return "open", ""
    if body.group_code is None:
        raise BadInput("a group order needs group_code (join) or open_group: true", "group_code")
    return "join", body.group_code
