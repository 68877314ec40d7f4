"""What the ledger booked through one provider around one statement's day, and the checks
kept for the finance page."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain import refunds as refund_rules
from server.domain.statements import PAYMENT, REFUND, Booked, Matching
from server.ledger.schema import payments, refund_sends, statement_checks

DAY_MS = 86_400_000
# Providers close their days in Beijing time.
BILL_ZONE = ZoneInfo("Asia/Shanghai")


def day_bounds(day: date) -> tuple[int, int]:
    start = datetime.combine(day, time(), BILL_ZONE)
    return int(start.timestamp() * 1000), int((start + timedelta(days=1)).timestamp() * 1000)


async def booked(engine: AsyncEngine, provider: str, day: date) -> list[Booked]:
    """Payments settled and refunds sent through the provider that day, and those of the
    days either side (a line the provider dated across midnight is then found, not missing)."""
    start, end = day_bounds(day)
    paid = select(payments.c.payment_id, payments.c.amount_fen, payments.c.settled_at_ms).where(
        payments.c.provider == provider,
        payments.c.status.in_(("succeeded", "refunded")),
        payments.c.settled_at_ms >= start - DAY_MS,
        payments.c.settled_at_ms < end + DAY_MS,
    )
    at = refund_sends.c.done_at_ms
    sent = select(refund_sends.c.refund_id, refund_sends.c.amount_fen, at).where(
        refund_sends.c.provider == provider,
        refund_sends.c.state.in_((refund_rules.PROCESSING, refund_rules.SUCCEEDED)),
        refund_sends.c.planned_at_ms >= start - DAY_MS,
        refund_sends.c.planned_at_ms < end + DAY_MS,
    )
    found: list[Booked] = []
    async with engine.connect() as conn:
        for pid, fen, when in (await conn.execute(paid)).all():
            token = pid.partition("~")[2]
            found.append(Booked(PAYMENT, token, int(fen), start <= when < end))
        for rid, fen, when in (await conn.execute(sent)).all():
            found.append(Booked(REFUND, rid, int(fen), when is not None and start <= when < end))
    return found


async def save(
    engine: AsyncEngine, provider: str, day: date, result: Matching, now_ms: int
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            statement_checks.insert().values(
                provider=provider,
                bill_date=day.isoformat(),
                checked_at_ms=now_ms,
                lines=result.lines,
                matched=result.matched,
                paid_fen=result.paid_fen,
                refunded_fen=result.refunded_fen,
                fees_fen=result.fees_fen,
                problems=orjson.dumps(result.problems).decode(),
            )
        )


async def latest(engine: AsyncEngine, limit: int = 10) -> list[dict[str, Any]]:
    query = select(statement_checks).order_by(statement_checks.c.check_id.desc()).limit(limit)
    async with engine.connect() as conn:
        rows = [dict(row._mapping) for row in (await conn.execute(query)).all()]
    for row in rows:
        row["problems"] = orjson.loads(row["problems"])
    return rows
