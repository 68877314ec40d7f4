"""The attribution report from the ledger (domain/attribution.py says what each figure
means). Plain SQL through SQLAlchemy Core that runs on SQLite and PostgreSQL alike: a handful
of aggregate queries over the campaign's orders, link visits, groups and links, each a
single pass (tested against counts made in Python from the rows, benchmarked on a million
orders in docs/performance.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.domain.attribution import (
    CHANNELS,
    Distributors,
    Funnel,
    Groups,
    Overlap,
    Report,
)
from server.domain.lifecycle import SHIPPED
from server.ledger.schema import groups, link_visits, links, orders

BALANCE_PAID = ("paid", "allocated", *SHIPPED)  # a presale order past its balance
SOURCES_SHOWN = 200


def _channel(column: ColumnElement[Any]) -> ColumnElement[str]:
    """channel_of(column) in SQL."""
    return case(
        (column.like("ref:D%"), literal("distributor")),
        (column.like("ref:C%"), literal("community")),
        (column.like("material:%"), literal("material")),
        (column.like("group:%"), literal("invite")),
        else_=literal("direct"),
    )


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.max(case((condition, 1), else_=0))


REPORT_WORK_MEM = "128MB"  # PostgreSQL: group a million orders by buyer in memory


async def report(engine: AsyncEngine, campaign_id: str) -> Report:
    """Its parts at once, each on a connection of its own (they read, so they may)."""

    async def part(query: Callable[[AsyncConnection], Awaitable[Any]]) -> Any:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))
            return await query(conn)

    overlap, channels, sources, groups_, distributors, by_mode, by_first = await asyncio.gather(
        part(lambda c: _overlap(c, campaign_id)),
        part(lambda c: _channel_funnels(c, campaign_id)),
        part(lambda c: _source_funnels(c, campaign_id)),
        part(lambda c: _groups(c, campaign_id)),
        part(lambda c: _distributors(c, campaign_id)),
        part(lambda c: _gmv(c, campaign_id, orders.c.mode)),
        part(lambda c: _gmv(c, campaign_id, _channel(orders.c.first_touch))),
    )
    return Report(campaign_id, overlap, channels, sources, groups_, distributors, by_mode, by_first)


async def _overlap(conn: AsyncConnection, campaign_id: str) -> Overlap:
    paid = orders.c.paid_fen > 0
    touched_distributor = or_(
        orders.c.first_touch.like("ref:D%"),
        orders.c.last_touch.like("ref:D%"),
        orders.c.ref.like("D%"),
    )
    per_user = (
        select(
            _flag(and_(orders.c.mode == "presale", paid)).label("dep"),
            _flag(and_(orders.c.mode == "group", paid)).label("grp"),
            _flag(and_(orders.c.mode == "group", paid, touched_distributor)).label("grp_dist"),
            _flag(and_(orders.c.mode == "direct", paid)).label("dir"),
        )
        .where(orders.c.campaign_id == campaign_id)
        .group_by(orders.c.user_id)
        .subquery()
    )
    u = per_user.c
    row = (
        await conn.execute(
            select(
                func.coalesce(func.sum(u.dep), 0),
                func.coalesce(func.sum(u.dep * u.grp), 0),
                func.coalesce(func.sum(u.grp), 0),
                func.coalesce(func.sum(u.grp_dist), 0),
                func.coalesce(func.sum(u.dir), 0),
                func.coalesce(func.sum(u.dep * u.grp * u.dir), 0),
            )
        )
    ).one()
    return Overlap(*(int(n) for n in row))


def _order_counts(campaign_id: str, key: ColumnElement[Any]) -> Any:
    return (
        select(
            key.label("source"),
            func.count().label("orders"),
            func.sum(case((orders.c.paid_fen > 0, 1), else_=0)).label("paid"),
            func.sum(
                case(
                    (and_(orders.c.mode == "presale", orders.c.status.in_(BALANCE_PAID)), 1),
                    else_=0,
                )
            ).label("balance_paid"),
        )
        .where(orders.c.campaign_id == campaign_id)
        .group_by(key)
    )


def _view_counts(campaign_id: str, key: ColumnElement[Any]) -> Any:
    return (
        select(key.label("source"), func.count().label("views"))
        .where(link_visits.c.campaign_id == campaign_id, link_visits.c.kind == "view")
        .group_by(key)
    )


async def _channel_funnels(conn: AsyncConnection, campaign_id: str) -> list[Funnel]:
    counted = await _funnels(
        conn,
        _order_counts(campaign_id, _channel(orders.c.last_touch)),
        _view_counts(campaign_id, _channel(link_visits.c.source)),
    )
    found = {f.source: f for f in counted}
    return [found.get(channel, Funnel(channel, 0, 0, 0, 0)) for channel in CHANNELS]


async def _source_funnels(conn: AsyncConnection, campaign_id: str) -> list[Funnel]:
    """The sources with the most orders, then (while there is room) the most viewed."""
    placed = _order_counts(campaign_id, orders.c.last_touch).where(orders.c.last_touch.is_not(None))
    top = placed.order_by(func.count().desc(), orders.c.last_touch).limit(SOURCES_SHOWN)
    shown = [row.source for row in (await conn.execute(top)).all()]
    if len(shown) < SOURCES_SHOWN:
        viewed = (
            _view_counts(campaign_id, link_visits.c.source)
            .order_by(func.count().desc(), link_visits.c.source)
            .limit(2 * SOURCES_SHOWN)
        )
        for row in (await conn.execute(viewed)).all():
            if len(shown) < SOURCES_SHOWN and row.source not in shown:
                shown.append(row.source)
    counted = await _funnels(
        conn,
        placed.where(orders.c.last_touch.in_(shown)),
        _view_counts(campaign_id, link_visits.c.source).where(link_visits.c.source.in_(shown)),
    )
    counted.sort(key=lambda f: (-f.orders, -f.views, f.source))
    return counted


async def _funnels(conn: AsyncConnection, order_counts: Any, view_counts: Any) -> list[Funnel]:
    placed = {row.source: row for row in (await conn.execute(order_counts)).all()}
    viewed = {row.source: int(row.views) for row in (await conn.execute(view_counts)).all()}
    return [
        Funnel(
            source,
            viewed.get(source, 0),
            int(placed[source].orders) if source in placed else 0,
            int(placed[source].paid or 0) if source in placed else 0,
            int(placed[source].balance_paid or 0) if source in placed else 0,
        )
        for source in sorted({*placed, *viewed})
    ]


async def _groups(conn: AsyncConnection, campaign_id: str) -> Groups:
    mine = groups.c.campaign_id == campaign_id
    statuses = select(groups.c.status, func.count()).where(mine).group_by(groups.c.status)
    by_status = {status: int(n) for status, n in (await conn.execute(statuses)).all()}
    sizes = (
        await conn.execute(
            select(groups.c.paid, func.count())
            .where(mine, groups.c.status == "formed")
            .group_by(groups.c.paid)
            .order_by(groups.c.paid)
        )
    ).all()
    in_groups = and_(orders.c.campaign_id == campaign_id, orders.c.group_code.is_not(None))
    opened = await _distinct(conn, orders.c.group_code, in_groups)
    sign_ups = await _distinct(conn, orders.c.user_id, in_groups)
    return Groups(
        opened=int(opened),
        formed=int(by_status.get("formed", 0)),
        failed=int(by_status.get("failed", 0)),
        sizes={int(paid): int(n) for paid, n in sizes},
        sign_ups=int(sign_ups),
    )


# The longest chain of uplines among the distributors the campaign recruited (one whose
# upline came from elsewhere starts a chain); WITH RECURSIVE runs on SQLite and PostgreSQL
# alike, and a chain stops at 64 levels whatever the data says.
_TREE_DEPTH = text(
    """
    WITH RECURSIVE mine(code, upline) AS (
        SELECT code, upline FROM links WHERE kind = 'distributor' AND campaign_id = :campaign
    ),
    tree(code, depth) AS (
        SELECT code, 1 FROM mine
        WHERE upline IS NULL OR upline NOT IN (SELECT code FROM mine)
        UNION ALL
        SELECT mine.code, tree.depth + 1 FROM mine JOIN tree ON mine.upline = tree.code
        WHERE tree.depth < 64
    )
    SELECT COALESCE(MAX(depth), 0) FROM tree
    """
)


async def _distributors(conn: AsyncConnection, campaign_id: str) -> Distributors:
    mine = and_(links.c.kind == "distributor", links.c.campaign_id == campaign_id)
    recruited = (await conn.execute(select(func.count()).where(mine))).scalar_one()
    active = await _distinct(
        conn,
        orders.c.ref,
        and_(orders.c.campaign_id == campaign_id, orders.c.ref.like("D%"), orders.c.paid_fen > 0),
    )
    depth = (await conn.execute(_TREE_DEPTH, {"campaign": campaign_id})).scalar_one()
    return Distributors(int(recruited), int(active), int(depth or 0))


async def _distinct(
    conn: AsyncConnection, column: ColumnElement[Any], where: ColumnElement[bool]
) -> int:
    """COUNT(DISTINCT column) as a grouped subquery (PostgreSQL hashes it; its COUNT(DISTINCT)
    sorts)."""
    values = select(column).where(where).group_by(column).subquery()
    return int((await conn.execute(select(func.count()).select_from(values))).scalar_one())


async def _gmv(conn: AsyncConnection, campaign_id: str, key: ColumnElement[Any]) -> dict[str, int]:
    query = (
        select(key, func.sum(orders.c.paid_fen - orders.c.refunded_fen))
        .where(orders.c.campaign_id == campaign_id, orders.c.paid_fen > 0)
        .group_by(key)
    )
    return {str(name): int(fen or 0) for name, fen in (await conn.execute(query)).all()}
