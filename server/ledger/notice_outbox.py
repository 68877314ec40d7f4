"""The notices table as an outbox: planned once by key, then each finished with what became
of it; and each viewer's notice preferences."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.domain.notices import CATEGORY
from server.ledger import outbox
from server.ledger.schema import notice_prefs, notices

PENDING = ("pending",)  # the one state a notice waits in
PROMOTIONS = [kind for kind, category in CATEGORY.items() if category == "promotion"]


@dataclass(frozen=True)
class Finished:
    campaign_id: str
    notice_key: str
    state: str  # sent | inbox_only | skipped | failed | pending (to try again)
    reason: str | None
    at_ms: int
    next_try_ms: int = 0


async def add(engine: AsyncEngine, rows: list[dict[str, Any]]) -> int:
    """Plan notices; one whose key is planned already stays as it is. Returns how many new."""
    if not rows:
        return 0
    async with engine.begin() as conn:
        statement = _insert(conn).on_conflict_do_nothing()
        result = await conn.execute(statement.returning(notices.c.notice_key), rows)
        return len(result.all())


async def claim(
    engine: AsyncEngine, worker: str, campaign_ids: Collection[str], now_ms: int, limit: int = 200
) -> list[dict[str, Any]]:
    """Pending notices whose time to (re)try has come, oldest first, claimed by this worker
    under a lease (ledger/outbox.py)."""
    scope = notices.c.campaign_id.in_(campaign_ids)
    return await outbox.claim(
        engine, notices, notices.c.notice_key, PENDING, scope, worker, now_ms, limit
    )


async def release_claims(engine: AsyncEngine, worker: str, now_ms: int) -> None:
    """A worker starting again takes back at once what it held when it stopped."""
    await outbox.release_claims(engine, notices, PENDING, worker, now_ms)


async def opted_out(engine: AsyncEngine, users: Collection[str]) -> set[str]:
    query = select(notice_prefs.c.user_id).where(
        notice_prefs.c.user_id.in_(users), notice_prefs.c.promotions.is_(False)
    )
    async with engine.connect() as conn:
        return set((await conn.execute(query)).scalars())


async def promotions_pushed_since(
    engine: AsyncEngine, users: Collection[str], since_ms: int
) -> dict[str, int]:
    """How many promotions each viewer was pushed since then (the hourly rate)."""
    query = (
        select(notices.c.user_id, func.count())
        .where(
            notices.c.user_id.in_(users),
            notices.c.state == "sent",
            notices.c.kind.in_(PROMOTIONS),
            notices.c.done_at_ms > since_ms,
        )
        .group_by(notices.c.user_id)
    )
    async with engine.connect() as conn:
        return {user: int(n) for user, n in (await conn.execute(query)).all()}


async def finish(engine: AsyncEngine, finished: Iterable[Finished]) -> None:
    async with engine.begin() as conn:
        for f in finished:
            await conn.execute(
                update(notices)
                .where(
                    and_(
                        notices.c.campaign_id == f.campaign_id, notices.c.notice_key == f.notice_key
                    )
                )
                .values(
                    state=f.state,
                    reason=f.reason,
                    attempts=notices.c.attempts + 1,
                    next_try_ms=f.next_try_ms,
                    done_at_ms=None if f.state == "pending" else f.at_ms,
                )
            )


async def promotions_on(engine: AsyncEngine, user: str) -> bool:
    query = select(notice_prefs.c.promotions).where(notice_prefs.c.user_id == user)
    async with engine.connect() as conn:
        found = (await conn.execute(query)).scalar()
    return True if found is None else bool(found)


async def set_promotions(engine: AsyncEngine, user: str, on: bool, now_ms: int) -> None:
    async with engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(notice_prefs).values(
            user_id=user, promotions=on, updated_at_ms=now_ms
        )
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=["user_id"], set_={"promotions": on, "updated_at_ms": now_ms}
            )
        )


def _insert(conn: AsyncConnection) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(notices)


async def summary(engine: AsyncEngine, campaign_id: str) -> dict[str, dict[str, int]]:
    """How many notices of each kind are in each state (the console's notices page)."""
    query = (
        select(notices.c.kind, notices.c.state, func.count())
        .where(notices.c.campaign_id == campaign_id)
        .group_by(notices.c.kind, notices.c.state)
    )
    found: dict[str, dict[str, int]] = {}
    async with engine.connect() as conn:
        for kind, state, n in (await conn.execute(query)).all():
            found.setdefault(kind, {})[state] = int(n)
    return found


async def troubles(engine: AsyncEngine, campaign_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """Notices the channel refused or keeps failing, newest first."""
    query = (
        select(notices)
        .where(
            notices.c.campaign_id == campaign_id,
            (notices.c.state == "failed")
            | (notices.c.state == "pending") & notices.c.reason.is_not(None),
        )
        .order_by(notices.c.planned_at_ms.desc(), notices.c.notice_key)
        .limit(limit)
    )
    async with engine.connect() as conn:
        return [dict(row._mapping) for row in (await conn.execute(query)).all()]


async def retry_failed(engine: AsyncEngine, campaign_id: str, now_ms: int) -> int:
    """Send the campaign's failed notices again (after the channel is fixed)."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(notices)
            .where(notices.c.campaign_id == campaign_id, notices.c.state == "failed")
            .values(state="pending", attempts=0, next_try_ms=now_ms, done_at_ms=None)
        )
    return int(result.rowcount)
