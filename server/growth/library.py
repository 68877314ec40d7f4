"""The material library in the ledger's database: posts and ops' materials, moderation,
shares, and each item's figures (shares; views and clicks from link_visits; orders placed
and paid with the material as the buyer's last touch). The rules are domain/materials.py."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.materials import Action, Kind, Status, moderate, source_of
from server.errors import Conflict, NotFound
from server.ledger.schema import link_visits, material_shares, materials, orders

FIGURES = ("shares", "views", "clicks", "orders", "paid")


def new_id() -> str:
    return "M" + secrets.token_hex(8)


class Library:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, row: dict[str, Any]) -> dict[str, Any]:
        async with self._engine.begin() as conn:
            await conn.execute(materials.insert().values(**row))
        return await self.find(row["material_id"])  # with every column, the unset ones None

    async def find(self, material_id: str) -> dict[str, Any]:
        statement = select(materials).where(materials.c.material_id == material_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(statement)).first()
        if row is None:
            raise NotFound("no material with this id", "material_id", "no_material")
        return dict(row._mapping)

    async def decide(
        self, material_id: str, action: Action, by: str, reason: str, now_ms: int
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Apply ops' action once: (before, after). Two people deciding together: the
        second finds the status moved (the update matches no row) and gets a Conflict."""
        before = await self.find(material_id)
        status: Status = before["status"]
        after = moderate(status, action)
        values = {"status": after, "decided_by": by, "decided_at_ms": now_ms}
        if action != "approve":
            values["reason"] = reason
        statement = (
            update(materials)
            .where(materials.c.material_id == material_id, materials.c.status == status)
            .values(**values)
        )
        async with self._engine.begin() as conn:
            moved = (await conn.execute(statement)).rowcount
        if moved != 1:
            raise Conflict("decided by someone else meanwhile", "action", "material_decided")
        return before, await self.find(material_id)

    async def listed(
        self,
        campaign_id: str,
        statuses: tuple[Status, ...],
        author: str | None = None,
        kinds: tuple[Kind, ...] | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Newest first."""
        where = [materials.c.campaign_id == campaign_id, materials.c.status.in_(statuses)]
        if author is not None:
            where.append(materials.c.author == author)
        if kinds is not None:
            where.append(materials.c.kind.in_(kinds))
        statement = (
            select(materials)
            .where(*where)
            .order_by(materials.c.created_at_ms.desc(), materials.c.material_id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(statement)]

    async def record_share(self, campaign_id: str, material_id: str, ref: str, now_ms: int) -> None:
        row = {"material_id": material_id, "campaign_id": campaign_id, "ref": ref, "at_ms": now_ms}
        async with self._engine.begin() as conn:
            await conn.execute(material_shares.insert().values(**row))

    async def figures(self, campaign_id: str, material_ids: list[str]) -> dict[str, dict[str, int]]:
        """Each material's shares, views, clicks, orders and paid orders."""
        found = {m: dict.fromkeys(FIGURES, 0) for m in material_ids}
        if not material_ids:
            return found
        sources = {source_of(m): m for m in material_ids}
        shares = (
            select(material_shares.c.material_id, func.count())
            .where(material_shares.c.material_id.in_(material_ids))
            .group_by(material_shares.c.material_id)
        )
        visits = (
            select(link_visits.c.source, link_visits.c.kind, func.count())
            .where(link_visits.c.campaign_id == campaign_id, link_visits.c.source.in_(sources))
            .group_by(link_visits.c.source, link_visits.c.kind)
        )
        placed = (
            select(
                orders.c.last_touch,
                func.count(),
                func.sum(case((orders.c.paid_fen > 0, 1), else_=0)),  # as attribution counts
            )
            .where(orders.c.campaign_id == campaign_id, orders.c.last_touch.in_(sources))
            .group_by(orders.c.last_touch)
        )
        async with self._engine.connect() as conn:
            for material_id, n in await conn.execute(shares):
                found[material_id]["shares"] = int(n)
            for source, kind, n in await conn.execute(visits):
                found[sources[source]][f"{kind}s"] = int(n)
            for source, n, paid in await conn.execute(placed):
                found[sources[source]] |= {"orders": int(n), "paid": int(paid or 0)}
        return found
