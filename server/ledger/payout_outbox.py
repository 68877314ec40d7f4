"""Payees, and the payout_sends table as an outbox: each payout booked for a distributor
with a payee planned once as a transfer, claimed by one worker, sent, and finished with the
provider's answer; the payout schedule ops set."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import time
from typing import Any

from sqlalchemy import exists, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.domain import payouts as rules
from server.domain.payouts import Payee, Schedule
from server.ledger import outbox
from server.ledger.schema import payees, payout_schedule, payout_sends, payouts


@dataclass(frozen=True)
class Finished:
    """A send's answer, its fields named as the table's columns (ledger/outbox.finish)."""

    payout_id: str
    state: str
    provider_ref: str | None
    detail: str | None
    confirm: str | None
    at_ms: int
    next_try_ms: int


def _dialect(conn: AsyncConnection) -> Any:
    return postgresql if conn.dialect.name == "postgresql" else sqlite


async def set_payee(engine: AsyncEngine, code: str, payee: Payee, now_ms: int) -> None:
    async with engine.begin() as conn:
        statement = (
            _dialect(conn)
            .insert(payees)
            .values(
                distributor=code,
                provider=payee.provider,
                account=payee.account,
                name=payee.name,
                updated_at_ms=now_ms,
                since_ms=now_ms,
            )
        )
        changed = {"provider": payee.provider, "account": payee.account, "name": payee.name}
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=["distributor"], set_={**changed, "updated_at_ms": now_ms}
            )
        )


async def payee_of(engine: AsyncEngine, code: str) -> Payee | None:
    query = select(payees.c.provider, payees.c.account, payees.c.name).where(
        payees.c.distributor == code
    )
    async with engine.connect() as conn:
        found = (await conn.execute(query)).first()
    return Payee(*found) if found else None


async def plan(engine: AsyncEngine, providers: Collection[str], now_ms: int) -> int:
    """A transfer for each payout booked since its distributor gave a payee this deployment
    can pay through; planned again, the same ids are kept once."""
    sent = exists().where(payout_sends.c.payout_id == payouts.c.stream_id)
    query = (
        select(payouts.c.stream_id, payouts.c.distributor, payouts.c.amount_fen, payees)
        .join(payees, payees.c.distributor == payouts.c.distributor)
        .where(
            payouts.c.amount_fen > 0,
            payouts.c.returns.is_(None),
            payouts.c.at_ms >= payees.c.since_ms,
            payees.c.provider.in_(providers),
            ~sent,
        )
        .limit(200)
    )
    async with engine.begin() as conn:
        rows = [
            {
                "payout_id": row.stream_id,
                "distributor": row.distributor,
                "provider": row.provider,
                "account": row.account,
                "name": row.name,
                "amount_fen": int(row.amount_fen),
                "state": rules.PENDING,
                "tries": 0,
                "planned_at_ms": now_ms,
                "next_try_ms": now_ms,
            }
            for row in (await conn.execute(query)).all()
        ]
        if rows:
            insert = _dialect(conn).insert(payout_sends).on_conflict_do_nothing()
            await conn.execute(insert, rows)
    return len(rows)


async def claim(
    engine: AsyncEngine, worker: str, now_ms: int, limit: int = 50
) -> list[dict[str, Any]]:
    return await outbox.claim(
        engine, payout_sends, payout_sends.c.payout_id, rules.OPEN, true(), worker, now_ms, limit
    )


async def release_claims(engine: AsyncEngine, worker: str, now_ms: int) -> None:
    await outbox.release_claims(engine, payout_sends, rules.OPEN, worker, now_ms)


async def finish(engine: AsyncEngine, finished: Iterable[Finished]) -> None:
    """Record each answer; a send already closed keeps its first answer."""
    await outbox.finish(engine, payout_sends, payout_sends.c.payout_id, rules.OPEN, finished)


async def ask_soon(
    engine: AsyncEngine, code: str, payout_id: str, at_ms: int
) -> dict[str, Any] | None:
    """The distributor's send of that payout, brought forward to be asked about at `at_ms`
    if still open (the payee just confirmed receipt in WeChat: no need to wait out the
    pause); None when the distributor has no such send. A send a worker holds right now
    may be asked about twice: harmless, as both asks name the same bill number."""
    mine = (payout_sends.c.payout_id == payout_id) & (payout_sends.c.distributor == code)
    async with engine.begin() as conn:
        await conn.execute(
            update(payout_sends)
            .where(mine, payout_sends.c.state.in_(rules.OPEN), payout_sends.c.next_try_ms > at_ms)
            .values(next_try_ms=at_ms)
        )
        found = (await conn.execute(select(payout_sends).where(mine))).first()
    return dict(found._mapping) if found else None


async def sends_of(engine: AsyncEngine, code: str, limit: int = 50) -> list[dict[str, Any]]:
    query = (
        select(payout_sends)
        .where(payout_sends.c.distributor == code)
        .order_by(payout_sends.c.planned_at_ms.desc())
        .limit(limit)
    )
    async with engine.connect() as conn:
        return [dict(row._mapping) for row in (await conn.execute(query)).all()]


async def recent(engine: AsyncEngine, limit: int = 100) -> list[dict[str, Any]]:
    """The newest transfers, refused and open ones first (the console)."""
    order = (payout_sends.c.state == rules.SUCCEEDED, payout_sends.c.planned_at_ms.desc())
    query = select(payout_sends).order_by(*order).limit(limit)
    async with engine.connect() as conn:
        return [dict(row._mapping) for row in (await conn.execute(query)).all()]


# -- the schedule ----------------------------------------------------------------------


async def schedule(engine: AsyncEngine) -> tuple[Schedule, str | None] | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(payout_schedule))).first()
    if row is None:
        return None
    hours, minutes = (int(part) for part in row.at.split(":"))
    return Schedule(row.on, row.weekday, time(hours, minutes), row.minimum_fen), row.last_slot


async def set_schedule(engine: AsyncEngine, plan_: Schedule, last_slot: str, by: str) -> None:
    """Ops set the schedule; it runs from the next slot on (never for one already past)."""
    values = {
        "on": plan_.on,
        "weekday": plan_.weekday,
        "at": plan_.at.strftime("%H:%M"),
        "minimum_fen": plan_.minimum_fen,
        "last_slot": last_slot,
        "updated_by": by,
    }
    async with engine.begin() as conn:
        statement = _dialect(conn).insert(payout_schedule).values(schedule_id=1, **values)
        await conn.execute(
            statement.on_conflict_do_update(index_elements=["schedule_id"], set_=values)
        )


async def take_slot(engine: AsyncEngine, slot: str, last: str | None) -> bool:
    """Claim a slot to run: one worker wins (the row's last slot moves only from `last`)."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(payout_schedule)
            .where(
                payout_schedule.c.schedule_id == 1,
                payout_schedule.c.last_slot.is_(None)
                if last is None
                else payout_schedule.c.last_slot == last,
            )
            .values(last_slot=slot)
        )
    return bool(result.rowcount)


async def problems(engine: AsyncEngine) -> list[str]:
    """Reconcile: each transfer is for its payout's amount; each refused one was given back
    exactly once, and nothing else was."""
    sent = select(payout_sends.c.payout_id, payout_sends.c.amount_fen, payout_sends.c.state)
    booked = select(payouts.c.stream_id, payouts.c.amount_fen, payouts.c.returns)
    async with engine.connect() as conn:
        sends = {pid: (int(fen), state) for pid, fen, state in (await conn.execute(sent)).all()}
        rows = (await conn.execute(booked)).all()
    amounts = {sid: int(fen) for sid, fen, returns in rows if returns is None}
    given_back: dict[str, list[int]] = {}
    for _, fen, returns in rows:
        if returns is not None:
            given_back.setdefault(returns, []).append(int(fen))
    found = []
    for pid, (fen, state) in sorted(sends.items()):
        if amounts.get(pid) != fen:
            found.append(f"payout {pid}: transfer of {fen} for a payout of {amounts.get(pid)}")
        back = given_back.pop(pid, [])
        if state == rules.REFUSED and back != [-fen]:
            found.append(f"payout {pid}: refused, given back {back} (expected [{-fen}])")
        if state != rules.REFUSED and back:
            found.append(f"payout {pid}: {state} yet given back {back}")
    for pid, back in sorted(given_back.items()):
        found.append(f"payout {pid}: given back {back} without a refused transfer")
    return found
