"""What the notifier reads from the ledger: the facts a notice is planned from, each left out
once its notice exists (the notice's key is the fact, see domain/notices.py)."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlalchemy import ColumnElement, and_, exists, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.lifecycle import AWAITING_BALANCE
from server.domain.notices import AwaitingBalance, FormingGroup, GroupOutcome, Parcel
from server.ledger.schema import groups, notices, orders

PAID_MEMBER = ("paid", "allocated")


def _unplanned(campaign_id: str, *keys: ColumnElement[str]) -> ColumnElement[bool]:
    """None of these notice keys planned yet in the campaign."""
    return ~exists().where(notices.c.campaign_id == campaign_id, notices.c.notice_key.in_(keys))


def _key(prefix: str, *parts: ColumnElement[str]) -> ColumnElement[str]:
    expression: ColumnElement[str] = literal(prefix)
    for part in parts:
        expression = expression + part
    return expression


async def awaiting_balance(
    engine: AsyncEngine, campaign_id: str, hours: int, limit: int = 1000
) -> list[AwaitingBalance]:
    """Deposits paid whose balance is still open and not yet reminded at this hour."""
    key = _key("balance:", orders.c.order_id, literal(f":{hours}"))
    query = (
        select(orders.c.order_id, orders.c.user_id)
        .where(
            orders.c.campaign_id == campaign_id,
            orders.c.status == AWAITING_BALANCE,
            _unplanned(campaign_id, key),
        )
        .limit(limit)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [AwaitingBalance(row.order_id, row.user_id) for row in rows]


async def forming_groups(
    engine: AsyncEngine, campaign_id: str, needed: int, at_most_missing: int
) -> list[FormingGroup]:
    """Groups not yet closed that are short of forming by 1..at_most_missing paid members,
    with those members, counted from their orders (a group reaches the ledger as it closes;
    the notifier drops the notices already planned)."""
    closed = exists().where(
        groups.c.campaign_id == campaign_id,
        groups.c.code == orders.c.group_code,
        groups.c.status.in_(("formed", "failed")),
    )
    query = (
        select(orders.c.group_code, orders.c.user_id)
        .where(
            orders.c.campaign_id == campaign_id,
            orders.c.group_code.is_not(None),
            orders.c.status.in_(PAID_MEMBER),
            ~closed,
        )
        .order_by(orders.c.group_code, orders.c.created_at_ms)
    )
    members: dict[str, list[str]] = {}
    async with engine.connect() as conn:
        for row in (await conn.execute(query)).all():
            members.setdefault(row.group_code, []).append(row.user_id)
    return [
        FormingGroup(code, needed - len(users), tuple(users))
        for code, users in members.items()
        if 0 < needed - len(users) <= at_most_missing
    ]


async def group_outcomes(
    engine: AsyncEngine, campaign_id: str, limit: int = 1000
) -> list[GroupOutcome]:
    """Member orders of groups that closed: a formed group's once its price is settled (the
    difference refunded), a failed group's once the order ended with its refund."""
    formed = _key("group_formed:", orders.c.order_id)
    failed = _key("group_failed:", orders.c.order_id)
    query = (
        select(
            orders.c.order_id,
            orders.c.user_id,
            orders.c.group_code,
            orders.c.status,
            orders.c.qty,
            orders.c.unit_price_fen,
            orders.c.refunded_fen,
            orders.c.snapshot,
            groups.c.status.label("group_status"),
        )
        .join(
            groups,
            and_(
                groups.c.campaign_id == orders.c.campaign_id, groups.c.code == orders.c.group_code
            ),
        )
        .where(
            orders.c.campaign_id == campaign_id,
            groups.c.status.in_(("formed", "failed")),
            _unplanned(campaign_id, formed, failed),
        )
        .limit(limit)
    )
    found = []
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    for row in rows:
        if row.group_status == "failed":
            if row.status == "group_failed":
                found.append(
                    GroupOutcome(
                        row.order_id, row.user_id, row.group_code, False, 0, row.refunded_fen
                    )
                )
            continue
        final = orjson.loads(row.snapshot).get("final_unit_price_fen")
        if final is not None:  # settled by adjust_group_price.lua
            refund = (row.unit_price_fen - final) * row.qty
            found.append(
                GroupOutcome(row.order_id, row.user_id, row.group_code, True, final, refund)
            )
    return found


async def parcels(engine: AsyncEngine, campaign_id: str, limit: int = 1000) -> list[Parcel]:
    """Orders shipped or delivered whose notice is not planned."""
    shipped = _key("shipped:", orders.c.order_id)
    delivered = _key("delivered:", orders.c.order_id)
    query = (
        select(
            orders.c.order_id,
            orders.c.user_id,
            orders.c.status,
            orders.c.carrier,
            orders.c.tracking_no,
        )
        .where(
            orders.c.campaign_id == campaign_id,
            (
                (orders.c.status == "shipped") & _unplanned(campaign_id, shipped, delivered)
                | (orders.c.status == "delivered") & _unplanned(campaign_id, delivered)
            ),
        )
        .limit(limit)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [
        Parcel(r.order_id, r.user_id, r.carrier or "", r.tracking_no or "", r.status == "delivered")
        for r in rows
    ]


async def planned(engine: AsyncEngine, campaign_id: str, keys: Sequence[str]) -> set[str]:
    """Which of these notice keys are planned already."""
    found: set[str] = set()
    async with engine.connect() as conn:
        for start in range(0, len(keys), 500):
            query = select(notices.c.notice_key).where(
                notices.c.campaign_id == campaign_id,
                notices.c.notice_key.in_(keys[start : start + 500]),
            )
            found.update((await conn.execute(query)).scalars())
    return found
