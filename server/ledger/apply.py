"""Apply order-stream entries to the ledger, exactly once.

Each entry first claims its (campaign, stream id) row in order_events; if that row
exists the entry was applied before (a redelivery after a crash between commit and
acknowledgement) and is skipped. Snapshots are upserted only over older ones, so the
ledger ends the same whatever the delivery order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Table, and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.buckets import KEYSPACE_MARK
from server.domain.commission import Line, next_lines
from server.ledger.schema import (
    after_sales,
    audit_log,
    commissions,
    groups,
    link_visits,
    links,
    order_events,
    orders,
    payments,
    payouts,
    pool_moves,
    refunds,
    shipment_events,
    users,
    withdrawals,
)

Entry = tuple[str, Mapping[str, str]]


def stream_position(stream_id: str) -> tuple[int, int]:
    """ "<ms>-<seq>", or a stock bucket's "<ms>-<seq>@<n>" (domain/buckets.py): the entry's
    place in its own stream."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq.partition(KEYSPACE_MARK)[0] or 0)


async def apply_entries(conn: AsyncConnection, campaign_id: str, entries: Iterable[Entry]) -> int:
    """Apply entries in one transaction (the caller's); returns how many were new.

    Set-based, a few statements per batch whatever its size: claim every entry at once,
    then upsert each table's rows, keeping only the newest snapshot of each key."""
    by_id = {stream_id: fields for stream_id, fields in entries if "type" in fields}
    if not by_id:
        return 0
    claimed = await _claim(conn, campaign_id, by_id)
    new = sorted(claimed, key=stream_position)
    orders_rows: dict[str, dict[str, Any]] = {}
    payment_rows: dict[str, dict[str, Any]] = {}
    group_rows: dict[str, dict[str, Any]] = {}
    request_rows: dict[str, dict[str, Any]] = {}
    appended: dict[Table, list[dict[str, Any]]] = {
        refunds: [],
        pool_moves: [],
        shipment_events: [],
        link_visits: [],
    }
    for stream_id in new:  # oldest first: a later snapshot of the same key replaces an earlier
        fields = by_id[stream_id]
        ms, seq = stream_position(stream_id)
        if order := json_object(fields.get("order")):
            orders_rows[order["id"]] = _order_row(order, ms, seq)
        if payment := json_object(fields.get("payment")):
            payment_rows[payment["id"]] = _payment_row(payment, ms, seq)
        if group := json_object(fields.get("group")):
            group_rows[group["code"]] = _group_row(campaign_id, group)
        if request := json_object(fields.get("request")):
            request_rows[request["id"]] = _request_row(campaign_id, request)
        at_ms = _campaign_ms(order, payment, ms)
        for table, row in _appended_rows(fields, at_ms, ms):
            appended[table].append({"campaign_id": campaign_id, "stream_id": stream_id, **row})
    await _upsert_newer(conn, orders, ["order_id"], list(orders_rows.values()))
    await _apply_commissions(
        conn, campaign_id, [json_object(r["snapshot"]) or {} for r in orders_rows.values()]
    )
    await _upsert_newer(conn, payments, ["payment_id"], list(payment_rows.values()))
    await _upsert(conn, groups, ["campaign_id", "code"], list(group_rows.values()))
    await _upsert(conn, after_sales, ["request_id"], list(request_rows.values()))
    for table, rows in appended.items():
        if rows:
            await conn.execute(table.insert(), rows)
    return len(new)


def _appended_rows(
    fields: Mapping[str, str], at_ms: int, stream_ms: int
) -> Iterator[tuple[Table, dict[str, Any]]]:
    """The rows an entry adds to the append-only tables: a refund, a pool's return, a
    logistics event."""
    if int(fields.get("refund_fen", 0)) > 0:
        yield (
            refunds,
            {
                "order_id": fields["order_id"],
                "amount_fen": int(fields["refund_fen"]),
                "reason": fields.get("reason", ""),
                "at_ms": at_ms,
            },
        )
    if fields["type"] == "pool_returned":
        yield (
            pool_moves,
            {
                "pool": fields["pool"],
                "target": fields["target"],
                "units": int(fields["units"]),
                "at_ms": stream_ms,
            },
        )
    if fields["type"] == "visit":
        yield (
            link_visits,
            {
                "source": fields["source"],
                "user_id": fields["user"],
                "kind": fields["kind"],
                "day": fields["day"],
                "at_ms": int(fields["at_ms"]),
            },
        )
    if fields["type"] == "logistics":
        yield (
            shipment_events,
            {
                "order_id": fields["order_id"],
                "event_id": fields["event_id"],
                "status": fields["status"],
                "at_ms": int(fields["at_ms"]),
                "text": fields["text"],
            },
        )


async def _apply_commissions(
    conn: AsyncConnection, campaign_id: str, snapshots: list[dict[str, Any]]
) -> None:
    """Recompute the commission lines of every attributed order this batch touched."""
    attributed = [o for o in snapshots if (o.get("attribution") or {}).get("level1")]
    if not attributed:
        return
    query = select(commissions).where(commissions.c.order_id.in_([o["id"] for o in attributed]))
    before: dict[str, dict[int, Line]] = {}
    for row in (await conn.execute(query)).all():
        before.setdefault(row.order_id, {})[row.level] = Line(
            row.level, row.distributor, row.base_fen, row.rate_bp, row.amount_fen, row.state
        )
    rows = [
        {
            "order_id": order["id"],
            "level": line.level,
            "campaign_id": campaign_id,
            "distributor": line.distributor,
            "base_fen": line.base_fen,
            "rate_bp": line.rate_bp,
            "amount_fen": line.amount_fen,
            "state": line.state,
            "updated_at_ms": order["history"][-1][1],
        }
        for order in attributed
        for line in next_lines(order, before.get(order["id"], {}))
    ]
    await _upsert(conn, commissions, ["order_id", "level"], rows)


async def apply_identity_entries(conn: AsyncConnection, entries: Iterable[Entry]) -> int:
    """The user pool's stream: member tiers, distributors and community links."""
    by_id = {stream_id: fields for stream_id, fields in entries if "type" in fields}
    if not by_id:
        return 0
    claimed = await _claim(conn, "_identity", by_id)
    user_rows: dict[str, dict[str, Any]] = {}
    link_rows: dict[str, dict[str, Any]] = {}
    withdrawal_rows: dict[str, dict[str, Any]] = {}
    payout_rows = []
    for stream_id in sorted(claimed, key=stream_position):
        fields = by_id[stream_id]
        if fields["type"] == "payout":
            payout_rows.append(
                {
                    "stream_id": stream_id,
                    "distributor": fields["distributor"],
                    "amount_fen": int(fields["amount_fen"]),
                    "at_ms": stream_position(stream_id)[0],
                    "withdrawal_id": fields.get("withdrawal_id") or None,
                    "returns": fields.get("returns") or None,
                }
            )
        if withdrawal := json_object(fields.get("withdrawal")):
            withdrawal_rows[withdrawal["id"]] = _withdrawal_row(withdrawal, stream_id)
        if fields["type"] in ("payout", "withdrawal"):
            continue
        if user := json_object(fields.get("user")):
            user_rows[user["user"]] = {
                "user_id": user["user"],
                "member_tier": user["member_tier"],
                "updated_at_ms": user["updated_at_ms"],
            }
        link = json_object(fields.get("distributor")) or json_object(fields.get("community"))
        if link:
            link_rows[link["code"]] = {
                "code": link["code"],
                "kind": link["kind"],
                "user_id": link.get("user"),
                "upline": link.get("upline") or None,
                "name": link.get("name"),
                "status": link.get("status", "active"),
                "created_at_ms": link.get("joined_at_ms") or link.get("created_at_ms") or 0,
                "campaign_id": link.get("campaign_id") or None,
            }
    await _upsert(conn, users, ["user_id"], list(user_rows.values()))
    await _upsert(conn, links, ["code"], list(link_rows.values()))
    await _upsert_newer(conn, withdrawals, ["withdrawal_id"], list(withdrawal_rows.values()))
    if payout_rows:
        await conn.execute(payouts.insert(), payout_rows)
    return len(claimed)


async def apply_audit_entries(conn: AsyncConnection, entries: Iterable[Entry]) -> int:
    """The ops team's audit stream: one audit_log row per action, exactly once."""
    by_id = {stream_id: fields for stream_id, fields in entries if "type" in fields}
    if not by_id:
        return 0
    claimed = await _claim(conn, "_ops", by_id)
    rows = [
        {
            "stream_id": stream_id,
            "at_ms": int(by_id[stream_id]["at_ms"]),
            "actor": by_id[stream_id]["actor"],
            "role": by_id[stream_id]["role"],
            "action": by_id[stream_id]["action"],
            "target": by_id[stream_id]["target"],
            "before": by_id[stream_id].get("before") or None,
            "after": by_id[stream_id].get("after") or None,
        }
        for stream_id in sorted(claimed, key=stream_position)
    ]
    if rows:
        await conn.execute(audit_log.insert(), rows)
    return len(claimed)


async def _claim(
    conn: AsyncConnection, campaign_id: str, by_id: Mapping[str, Mapping[str, str]]
) -> set[str]:
    """Insert every entry's audit row; those that already existed were applied before."""
    rows = []
    for stream_id, fields in by_id.items():
        order = json_object(fields.get("order"))
        rows.append(
            {
                "campaign_id": campaign_id,
                "stream_id": stream_id,
                "order_id": fields.get("order_id"),
                "type": fields["type"],
                "status": order.get("status") if order else None,
                "at_ms": stream_position(stream_id)[0],
                "data": orjson.dumps(dict(fields)).decode(),
            }
        )
    statement = (
        _insert(conn, order_events).on_conflict_do_nothing().returning(order_events.c.stream_id)
    )
    return set((await conn.execute(statement, rows)).scalars())


def _campaign_ms(order: dict[str, Any] | None, payment: dict[str, Any] | None, ms: int) -> int:
    """When a refund happened on the campaign clock (a payment returned as it settled, or the
    order's last step); the stream's own time only if the entry carries neither."""
    if payment and payment.get("settled_at_ms"):
        return int(payment["settled_at_ms"])
    if order and order.get("history"):
        return int(order["history"][-1][1])
    return ms


def _order_row(order: dict[str, Any], ms: int, seq: int) -> dict[str, Any]:
    return {
        "order_id": order["id"],
        "campaign_id": order["campaign_id"],
        "user_id": order["user"],
        "mode": order["mode"],
        "qty": order["qty"],
        "status": order["status"],
        "pool": order["pool"],
        "held": order["held"],
        "alloc": orjson.dumps(order["alloc"]).decode(),
        "unit_price_fen": order["unit_price_fen"],
        "amount_due_fen": order["amount_due_fen"],
        "paid_fen": order["paid_fen"],
        "refunded_fen": order["refunded_fen"],
        "group_code": order["group_code"] or None,
        "ref": order["ref"] or None,
        "warehouse": order.get("warehouse"),
        "address_id": order.get("address_id"),
        "region_code": order.get("region"),
        "route": orjson.dumps(order["route"]).decode() if order.get("route") else None,
        "carrier": (order.get("shipment") or {}).get("carrier"),
        "tracking_no": (order.get("shipment") or {}).get("tracking_no"),
        "first_touch": order.get("first_touch"),
        "last_touch": order.get("last_touch"),
        "created_at_ms": order["created_at_ms"],
        "updated_at_ms": order["history"][-1][1],
        "stream_ms": ms,
        "stream_seq": seq,
        "snapshot": orjson.dumps(order).decode(),
    }


def _request_row(campaign_id: str, request: dict[str, Any]) -> dict[str, Any]:
    decision = request.get("decision") or {}
    return {
        "request_id": request["id"],
        "campaign_id": campaign_id,
        "order_id": request["order_id"],
        "user_id": request["user"],
        "reason": request["reason"],
        "units": request["units"],
        "text": request["text"],
        "photos": len(request.get("photos") or []),
        "status": request["status"],
        "refund_fen": int(request.get("refund_fen", 0)),
        "refund_units": int(request.get("refund_units", 0)),
        "restock_units": int(request.get("restock_units", 0)),
        "decided_by": decision.get("by"),
        "decision_reason": decision.get("reason"),
        "opened_at_ms": request["opened_at_ms"],
        "decided_at_ms": request.get("decided_at_ms"),
    }


def _payment_row(payment: dict[str, Any], ms: int, seq: int) -> dict[str, Any]:
    return {
        "payment_id": payment["id"],
        "campaign_id": payment["campaign_id"],
        "order_id": payment["order_id"],
        "stage": payment["stage"],
        "amount_fen": payment["amount_fen"],
        "status": payment["status"],
        "opened_at_ms": payment["opened_at_ms"],
        "settled_at_ms": payment.get("settled_at_ms"),
        "stream_ms": ms,
        "stream_seq": seq,
        "provider": payment.get("provider", "sandbox"),
    }


def _withdrawal_row(withdrawal: dict[str, Any], stream_id: str) -> dict[str, Any]:
    ms, seq = stream_position(stream_id)
    return {
        "withdrawal_id": withdrawal["id"],
        "distributor": withdrawal["distributor"],
        "amount_fen": withdrawal["amount_fen"],
        "status": withdrawal["status"],
        "requested_at_ms": withdrawal["requested_at_ms"],
        "decided_at_ms": withdrawal.get("decided_at_ms"),
        "decided_by": withdrawal.get("decided_by"),
        "reason": withdrawal.get("reason"),
        "stream_ms": ms,
        "stream_seq": seq,
    }


def _group_row(campaign_id: str, group: dict[str, Any]) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "code": group["code"],
        "leader": group["leader"],
        "status": group["status"],
        "members": group["members"],
        "paid": group["paid"],
        "units": group["units"],
        "opened_at_ms": group["opened_at_ms"],
        "closed_at_ms": group.get("closed_at_ms"),
        "snapshot": orjson.dumps(group).decode(),
    }


async def _upsert_newer(
    conn: AsyncConnection, table: Table, keys: list[str], rows: list[dict[str, Any]]
) -> None:
    """Upsert rows, but never over a snapshot from a later stream position."""
    if not rows:
        return
    statement = _insert(conn, table)
    excluded = statement.excluded
    newer: ColumnElement[bool] = or_(
        table.c.stream_ms < excluded.stream_ms,
        and_(table.c.stream_ms == excluded.stream_ms, table.c.stream_seq < excluded.stream_seq),
    )
    update = {name: excluded[name] for name in rows[0] if name not in keys}
    await conn.execute(
        statement.on_conflict_do_update(index_elements=keys, set_=update, where=newer), rows
    )


async def _upsert(
    conn: AsyncConnection, table: Table, keys: list[str], rows: list[dict[str, Any]]
) -> None:
    if not rows:
        return
    statement = _insert(conn, table)
    update = {name: statement.excluded[name] for name in rows[0] if name not in keys}
    await conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=update), rows)


def _insert(conn: AsyncConnection, table: Table) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def json_object(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    value = orjson.loads(raw)
    return value if isinstance(value, dict) else None
