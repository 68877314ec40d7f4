"""The refund_sends table as an outbox: each booked refund planned once into its payment
parts (domain/refunds.split), then each part claimed by one worker, sent, and finished with
the provider's answer."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.domain import refunds as rules
from server.ledger import outbox
from server.ledger.schema import payments, refund_sends, refunds
from server.payments.providers import RefundAnswer

# The payments a refund can go back through: every settled one that took money.
_SETTLED = ("succeeded", "refunded")


@dataclass(frozen=True)
class Finished:
    """A send's answer, its fields named as the table's columns (ledger/outbox.finish)."""

    refund_id: str
    state: str
    provider_ref: str | None
    detail: str | None
    at_ms: int
    next_try_ms: int


async def unplanned(
    engine: AsyncEngine, campaign_ids: Collection[str], limit: int = 200
) -> list[dict[str, Any]]:
    """Booked refunds not yet split into sends, oldest first."""
    planned = exists().where(
        refund_sends.c.campaign_id == refunds.c.campaign_id,
        refund_sends.c.stream_id == refunds.c.stream_id,
    )
    query = (
        select(refunds)
        .where(refunds.c.campaign_id.in_(campaign_ids), ~planned)
        .order_by(refunds.c.at_ms, refunds.c.stream_id)
        .limit(limit)
    )
    async with engine.connect() as conn:
        return [dict(row._mapping) for row in (await conn.execute(query)).all()]


async def plan(engine: AsyncEngine, booked: list[dict[str, Any]], now_ms: int) -> int:
    """Split each booked refund over its order's payments and plan the parts. The orders'
    payments are locked first (PostgreSQL), so two workers planning refunds of one order
    take turns and neither sees less than the other planned; a refund planned already
    plans the same ids again, kept once. Returns how many refunds were planned; one whose
    payments are not all in the ledger yet waits for a later round."""
    if not booked:
        return 0
    orders = sorted({row["order_id"] for row in booked})
    async with engine.begin() as conn:
        paid = await _payments_of(conn, orders)
        rows: list[dict[str, Any]] = []
        done = 0
        for refund in booked:
            try:
                parts = rules.split(refund["amount_fen"], paid[refund["order_id"]])
            except rules.NotCovered:
                continue
            done += 1
            for part in parts:
                rows.append(_send_row(refund, part, paid[refund["order_id"]], now_ms))
            paid[refund["order_id"]] = _less(paid[refund["order_id"]], parts)
        if rows:
            await conn.execute(_insert(conn).on_conflict_do_nothing(), rows)
    return done


async def _payments_of(conn: AsyncConnection, orders: list[str]) -> dict[str, list[rules.Paid]]:
    settled = (
        select(payments)
        .where(payments.c.order_id.in_(orders), payments.c.status.in_(_SETTLED))
        .order_by(payments.c.payment_id)
        .with_for_update()
    )
    found = (await conn.execute(settled)).all()
    ids = [row.payment_id for row in found]
    sums = (
        select(refund_sends.c.payment_id, func.sum(refund_sends.c.amount_fen))
        .where(refund_sends.c.payment_id.in_(ids))
        .group_by(refund_sends.c.payment_id)
    )
    planned = {pid: int(n) for pid, n in (await conn.execute(sums)).all()}
    paid: dict[str, list[rules.Paid]] = defaultdict(list)
    for row in found:
        paid[row.order_id].append(
            rules.Paid(
                payment_id=row.payment_id,
                provider=row.provider,
                amount_fen=row.amount_fen,
                settled_at_ms=row.settled_at_ms or 0,
                bounced=row.status == "refunded",
                planned_fen=planned.get(row.payment_id, 0),
            )
        )
    return paid


def _less(paid: list[rules.Paid], parts: list[rules.Part]) -> list[rules.Paid]:
    taken = {part.payment_id: part.amount_fen for part in parts}
    return [replace(p, planned_fen=p.planned_fen + taken.get(p.payment_id, 0)) for p in paid]


def _send_row(
    refund: dict[str, Any], part: rules.Part, paid: list[rules.Paid], now_ms: int
) -> dict[str, Any]:
    payment = next(p for p in paid if p.payment_id == part.payment_id)
    return {
        "refund_id": rules.refund_id(part.payment_id, refund["stream_id"]),
        "campaign_id": refund["campaign_id"],
        "stream_id": refund["stream_id"],
        "order_id": refund["order_id"],
        "payment_id": part.payment_id,
        "provider": part.provider,
        "amount_fen": part.amount_fen,
        "payment_fen": payment.amount_fen,
        "reason": refund["reason"],
        "state": rules.PENDING,
        "tries": 0,
        "planned_at_ms": now_ms,
        "next_try_ms": now_ms,
    }


async def claim(
    engine: AsyncEngine, worker: str, campaign_ids: Collection[str], now_ms: int, limit: int = 100
) -> list[dict[str, Any]]:
    """Open sends whose time to (re)try has come, claimed by this worker under a lease."""
    scope = refund_sends.c.campaign_id.in_(campaign_ids)
    return await outbox.claim(
        engine, refund_sends, refund_sends.c.refund_id, rules.OPEN, scope, worker, now_ms, limit
    )


async def release_claims(engine: AsyncEngine, worker: str, now_ms: int) -> None:
    await outbox.release_claims(engine, refund_sends, rules.OPEN, worker, now_ms)


async def finish(engine: AsyncEngine, finished: Iterable[Finished]) -> None:
    """Record each answer; a send already closed keeps its first answer."""
    await outbox.finish(engine, refund_sends, refund_sends.c.refund_id, rules.OPEN, finished)


async def record(engine: AsyncEngine, refund_id: str, answer: RefundAnswer, now_ms: int) -> None:
    """A provider's asynchronous word on a refund (its notification), recorded like the
    sender's own answer: only a send still open takes it."""
    if answer.state not in (rules.SUCCEEDED, rules.REFUSED):
        return
    ref, detail = answer.provider_ref or None, answer.detail or None
    await finish(engine, [Finished(refund_id, answer.state, ref, detail, now_ms, now_ms)])


async def send_again(engine: AsyncEngine, campaign_id: str, refund_id: str, now_ms: int) -> bool:
    """A refused send reopened by ops (the merchant's balance topped up, the buyer's account
    fixed), under the same refund id: the sender asks the provider about it first and sends
    it only if the provider holds none, so the money cannot go back twice; a provider that
    closed that id for good refuses it again. The overdue bound counts from now. False when
    the campaign has no refused send of that id."""
    async with engine.begin() as conn:
        reopened = await conn.execute(
            update(refund_sends)
            .where(
                refund_sends.c.refund_id == refund_id,
                refund_sends.c.campaign_id == campaign_id,
                refund_sends.c.state == rules.REFUSED,
            )
            .values(
                state=rules.PROCESSING,
                detail=None,
                tries=0,
                claimed_by=None,
                planned_at_ms=now_ms,
                next_try_ms=now_ms,
                done_at_ms=None,
            )
        )
    return bool(reopened.rowcount)


async def summary(engine: AsyncEngine, campaign_id: str) -> dict[str, tuple[int, int]]:
    """How many sends, and how many fen, in each state (the finance page)."""
    query = (
        select(refund_sends.c.state, func.count(), func.sum(refund_sends.c.amount_fen))
        .where(refund_sends.c.campaign_id == campaign_id)
        .group_by(refund_sends.c.state)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return {state: (int(n), int(fen or 0)) for state, n, fen in rows}


async def troubles(
    engine: AsyncEngine, campaign_id: str, now_ms: int, bound_ms: int, limit: int = 100
) -> list[dict[str, Any]]:
    """Sends the provider refused, and open ones past the bound, oldest first."""
    late = refund_sends.c.state.in_(rules.OPEN) & (refund_sends.c.planned_at_ms < now_ms - bound_ms)
    query = (
        select(refund_sends)
        .where(
            refund_sends.c.campaign_id == campaign_id,
            (refund_sends.c.state == rules.REFUSED) | late,
        )
        .order_by(refund_sends.c.planned_at_ms, refund_sends.c.refund_id)
        .limit(limit)
    )
    async with engine.connect() as conn:
        return [dict(row._mapping) for row in (await conn.execute(query)).all()]


@dataclass(frozen=True)
class Totals:
    """What reconcile checks: each booked refund against its planned parts, each payment
    against what is planned back through it, and the fen in each state."""

    booked_vs_planned: dict[str, tuple[int, int]]  # refund's stream id -> (booked, planned)
    unbooked: list[str]  # sends whose refund the ledger does not hold
    payment_vs_planned: dict[str, tuple[int, int]]  # payment id -> (took, planned back)
    fen_by_state: dict[str, int]


async def totals(engine: AsyncEngine, campaign_id: str) -> Totals:
    planned_by_refund = (
        select(refund_sends.c.stream_id, func.sum(refund_sends.c.amount_fen).label("fen"))
        .where(refund_sends.c.campaign_id == campaign_id)
        .group_by(refund_sends.c.stream_id)
        .subquery()
    )
    booked = select(refunds.c.stream_id, refunds.c.amount_fen, planned_by_refund.c.fen).join(
        planned_by_refund,
        planned_by_refund.c.stream_id == refunds.c.stream_id,
        isouter=True,
    )
    booked = booked.where(refunds.c.campaign_id == campaign_id)
    unbooked = select(refund_sends.c.refund_id).where(
        refund_sends.c.campaign_id == campaign_id,
        ~exists().where(
            refunds.c.campaign_id == refund_sends.c.campaign_id,
            refunds.c.stream_id == refund_sends.c.stream_id,
        ),
    )
    by_payment = (
        select(payments.c.payment_id, payments.c.amount_fen, func.sum(refund_sends.c.amount_fen))
        .join(refund_sends, refund_sends.c.payment_id == payments.c.payment_id)
        .where(refund_sends.c.campaign_id == campaign_id)
        .group_by(payments.c.payment_id, payments.c.amount_fen)
    )
    by_state = (
        select(refund_sends.c.state, func.sum(refund_sends.c.amount_fen))
        .where(refund_sends.c.campaign_id == campaign_id)
        .group_by(refund_sends.c.state)
    )
    async with engine.connect() as conn:
        return Totals(
            {sid: (int(b), int(p or 0)) for sid, b, p in (await conn.execute(booked)).all()},
            list((await conn.execute(unbooked)).scalars()),
            {pid: (int(a), int(p)) for pid, a, p in (await conn.execute(by_payment)).all()},
            {state: int(fen) for state, fen in (await conn.execute(by_state)).all()},
        )


def _insert(conn: AsyncConnection) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(refund_sends)
