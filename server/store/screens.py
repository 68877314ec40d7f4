"""Screen tokens minted by ops (for the list) and revoked ones (for the feeds), in Redis.
Both keys share one hash tag, so a Cluster keeps them on one shard."""

from __future__ import annotations

from typing import Any

import orjson
from redis.asyncio import Redis

from server.store.stock import text


class ScreenStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._minted = f"{prefix}:{{screens}}:minted"
        self._revoked = f"{prefix}:{{screens}}:revoked"

    async def record(
        self, grant_id: str, campaign_id: str, expires: int, label: str, now_ms: int
    ) -> dict[str, Any]:
        record = {
            "id": grant_id,
            "campaign_id": campaign_id,
            "label": label,
            "expires": expires,
            "created_at_ms": now_ms,
        }
        await self._redis.hset(self._minted, grant_id, orjson.dumps(record))
        return record

    async def minted(self) -> list[dict[str, Any]]:
        raw = await self._redis.hgetall(self._minted)
        revoked = {text(i) for i in await self._redis.smembers(self._revoked)}
        records = [orjson.loads(v) for v in raw.values()]
        for record in records:
            record["revoked"] = record["id"] in revoked
        return sorted(records, key=lambda r: -int(r["created_at_ms"]))

    async def revoke(self, grant_id: str) -> bool:
        """Revoke a token by id; False when no token with this id was minted here."""
        if not await self._redis.hexists(self._minted, grant_id):
            return False
        await self._redis.sadd(self._revoked, grant_id)
        return True

    async def revoked(self, grant_ids: list[str]) -> set[str]:
        if not grant_ids:
            return set()
        flags = await self._redis.smismember(self._revoked, grant_ids)
        return {grant_id for grant_id, flag in zip(grant_ids, flags, strict=True) if flag}
