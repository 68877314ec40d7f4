"""The broadcast desk: the presale -> group move (now, or at a time), notices to every live
room, pausing a mode at once (the kill switch), and opening or closing a window early."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.clock import to_ms
from server.domain.campaign import Mode, parse_campaign
from server.domain.campaign_file import with_window
from server.errors import BadInput, Conflict
from server.gateway.context import Gateway
from server.i18n import t, yuan
from server.ops.audit import Actor
from server.ops.campaigns import current_text, publish
from server.runtime import LiveCampaign

OFFER_DEADLINE = "offer:open"  # the scheduled presale -> group move, on the deadlines set


async def presale_to_group(gw: Gateway, actor: Actor, campaign_id: str) -> dict[str, Any]:
    """Open the exclusive depositor group offer and notify every depositor, once."""
    live = gw.runtime.live(campaign_id)
    campaign = live.campaign
    if campaign.depositor_group is None:
        raise Conflict("this campaign has no depositor offer", None, "no_offer")
    if gw.runtime.clock.now() < campaign.depositor_group.opens_at:
        raise Conflict("the depositor offer opens with the group-buy phase", None, "window_closed")
    result = await open_offer(live, gw.runtime.clock.now_ms())
    if result["result"] == "opened":
        await gw.audit.record(actor, "desk.presale_to_group", campaign_id, None, result)
    return result


async def open_offer(live: LiveCampaign, now_ms: int) -> dict[str, Any]:
    """The offer opened to every depositor, each notified (once: again changes nothing).
    Shared with the worker's sweep, which makes a scheduled move."""
    campaign = live.campaign
    offer = campaign.offer_rules
    balance = offer.price_fen - campaign.presale_rules.deposit_fen
    text = t("notice.depositor_offer", price=yuan(offer.price_fen), balance=yuan(balance))
    answer = await live.orders.open_depositor_offer(now_ms, text)
    assert answer.record is not None
    return {
        "result": "opened" if answer.code == "opened" else "already",
        "depositors_notified": answer.record["depositors"],
        "price_fen": offer.price_fen,
        "balance_fen": balance,
    }


async def schedule_presale_to_group(
    gw: Gateway, actor: Actor, campaign_id: str, at: datetime
) -> None:
    """The same move at a moment of campaign time, made by the worker's sweep."""
    live = gw.runtime.live(campaign_id)
    if live.campaign.depositor_group is None:
        raise Conflict("this campaign has no depositor offer", None, "no_offer")
    if at < live.campaign.depositor_group.opens_at:
        raise BadInput("not before the depositor offer may open", "at")
    await live.orders.schedule(OFFER_DEADLINE, to_ms(at))
    await gw.audit.record(
        actor, "desk.schedule_presale_to_group", campaign_id, None, {"at": at.isoformat()}
    )


async def push_notice(gw: Gateway, actor: Actor, campaign_id: str, text: str) -> dict[str, Any]:
    live = gw.runtime.live(campaign_id)
    notice = {"kind": "host" if text else "clear", "text": text, "at_ms": gw.runtime.clock.now_ms()}
    await live.orders.push_notice(notice)
    await gw.audit.record(actor, "desk.notice", campaign_id, None, notice)
    return notice


async def set_paused(
    gw: Gateway, actor: Actor, campaign_id: str, mode: Mode, paused: bool
) -> list[str]:
    """Stop (or let again) every order of a mode at once, on every gateway within a second;
    the campaign itself is unchanged."""
    live = gw.runtime.live(campaign_id)
    if not live.campaign.offers(mode):
        raise BadInput(f"the campaign does not sell in {mode!r}", "mode")
    before = sorted(live.paused)
    after = await gw.runtime.pause(campaign_id, mode, paused)
    await gw.audit.record(
        actor, "desk.pause" if paused else "desk.resume", campaign_id, before, after
    )
    return after


async def move_window(gw: Gateway, actor: Actor, campaign_id: str, mode: Mode, edge: str) -> int:
    """Open a mode's window now, or close it now: a new version of the campaign."""
    live = gw.runtime.live(campaign_id)
    if not live.campaign.offers(mode):
        raise BadInput(f"the campaign does not sell in {mode!r}", "mode")
    text = await current_text(gw, campaign_id)
    assert text is not None
    now = gw.runtime.clock.now().astimezone(live.campaign.opens_at.tzinfo)
    window = live.campaign.window(mode)
    if edge == "open":
        if window.is_open(now):
            raise Conflict(f"{mode} is open already", "mode", "already_open")
        changed = with_window(text, mode, now.replace(microsecond=0), max(window.closes_at, now))
    else:
        if not window.is_open(now):
            raise Conflict(f"{mode} is not open", "mode", "window_closed")
        changed = with_window(text, mode, window.opens_at, now.replace(microsecond=0))
    parse_campaign(changed)
    updated = await publish(gw, actor, changed, campaign_id)
    await gw.audit.record(actor, f"desk.{edge}_window", campaign_id, None, {"mode": mode})
    return updated.version


async def set_screen_goals(
    gw: Gateway, actor: Actor, campaign_id: str, target_fen: int, kaiqiang_at: datetime | None
) -> dict[str, Any]:
    """What the big screen measures against: the GMV target (0: none) and the moment the
    host says 开抢 (None: no countdown)."""
    live = gw.runtime.live(campaign_id)
    if not 0 <= target_fen <= 10**13:
        raise BadInput("a target from 0 to 100 billion yuan", "target")
    meta = live.stock.keys.meta
    redis = gw.runtime.redis
    await redis.hset(meta, "screen.target_fen", target_fen)
    if kaiqiang_at is None:
        await redis.hdel(meta, "screen.kaiqiang_at_ms")
    else:
        await redis.hset(meta, "screen.kaiqiang_at_ms", to_ms(kaiqiang_at))
    goals = {"target_fen": target_fen, "kaiqiang_at": kaiqiang_at and kaiqiang_at.isoformat()}
    await gw.audit.record(actor, "desk.screen_goals", campaign_id, None, goals)
    return goals
