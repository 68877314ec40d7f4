"""Viewers' address books in the ledger database (written by the gateway: an address is not
an order event). Rows are never updated but to retire them, so what an order points at stays
what it was shipped to."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.addresses import MAX_ADDRESSES, AddressInput
from server.errors import Conflict, NotFound
from server.ledger.schema import addresses

Row = dict[str, Any]


class AddressBook:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def of_user(self, user: str) -> list[Row]:
        """The viewer's current addresses, the default first, then the newest."""
        query = (
            select(addresses)
            .where(addresses.c.user_id == user, addresses.c.retired_at_ms.is_(None))
            .order_by(addresses.c.is_default.desc(), addresses.c.created_at_ms.desc())
        )
        async with self._engine.connect() as conn:
            return [dict(r._mapping) for r in (await conn.execute(query)).all()]

    async def get(self, address_id: str) -> Row | None:
        """Any address, retired or not (an order's, for its pick list)."""
        query = select(addresses).where(addresses.c.address_id == address_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return dict(row._mapping) if row else None

    async def current(self, user: str, address_id: str) -> Row:
        """One of the viewer's current addresses, or NotFound naming the field."""
        row = await self.get(address_id)
        if row is None or row["user_id"] != user or row["retired_at_ms"] is not None:
            raise NotFound("no such address in your address book", "address_id", "no_address")
        return row

    async def many(self, address_ids: list[str]) -> dict[str, Row]:
        if not address_ids:
            return {}
        query = select(addresses).where(addresses.c.address_id.in_(address_ids))
        async with self._engine.connect() as conn:
            return {r.address_id: dict(r._mapping) for r in (await conn.execute(query)).all()}

    async def add(
        self, user: str, address: AddressInput, now_ms: int, replaces: str | None = None
    ) -> Row:
        """Add an address (the first one becomes the default); `replaces` retires the one
        it edits, keeping its default mark, in the same transaction."""
        row: Row = {
            "address_id": "a" + secrets.token_hex(8),
            "user_id": user,
            "recipient": address.recipient,
            "phone": address.phone,
            "region_code": address.region.code,
            "region_label": address.region.label,
            "street": address.street,
            "is_default": False,
            "created_at_ms": now_ms,
            "retired_at_ms": None,
        }
        current = and_(addresses.c.user_id == user, addresses.c.retired_at_ms.is_(None))
        async with self._engine.begin() as conn:
            count = await conn.scalar(select(func.count()).where(current))
            if replaces is None and (count or 0) >= MAX_ADDRESSES:
                raise Conflict(
                    f"an address book holds at most {MAX_ADDRESSES} addresses",
                    "address_id",
                    "too_many_addresses",
                )
            row["is_default"] = not count
            if replaces is not None:
                old = await self._retire(conn, user, replaces, now_ms)
                row["is_default"] = old["is_default"]
            await conn.execute(insert(addresses).values(**row))
        return row

    async def retire(self, user: str, address_id: str, now_ms: int) -> None:
        async with self._engine.begin() as conn:
            await self._retire(conn, user, address_id, now_ms)

    async def make_default(self, user: str, address_id: str) -> None:
        await self.current(user, address_id)
        mine = addresses.c.user_id == user
        async with self._engine.begin() as conn:
            await conn.execute(update(addresses).where(mine).values(is_default=False))
            await conn.execute(
                update(addresses)
                .where(mine, addresses.c.address_id == address_id)
                .values(is_default=True)
            )

    @staticmethod
    async def _retire(conn: Any, user: str, address_id: str, now_ms: int) -> Row:
        mine = and_(
            addresses.c.address_id == address_id,
            addresses.c.user_id == user,
            addresses.c.retired_at_ms.is_(None),
        )
        found = (await conn.execute(select(addresses).where(mine))).first()
        if found is None:
            raise NotFound("no such address in your address book", "address_id", "no_address")
        await conn.execute(update(addresses).where(mine).values(retired_at_ms=now_ms))
        return dict(found._mapping)
