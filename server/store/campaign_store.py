"""Campaign files kept in Redis, so every gateway serves the same, newest upload."""

from __future__ import annotations

from redis.asyncio import Redis

from server.domain.campaign import parse_campaign
from server.store.keys import CampaignKeys, CampaignKeyspaces, GlobalKeys


class CampaignStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._global = GlobalKeys(prefix)

    async def add_id(self, campaign_id: str) -> None:
        """Name a campaign among those that exist. Done before its file is stored (in the
        campaign's own slot, see StockStore.install): a listed id without a file is
        skipped by every reader, a file nobody lists would be lost."""
        await self._redis.sadd(self._global.campaigns, campaign_id)

    async def save_if_absent(self, campaign_id: str, text: str) -> bool:
        key = CampaignKeys(self._prefix, campaign_id).config
        if not await self._redis.hsetnx(key, "toml", text):
            return False
        version = await self._redis.hincrby(key, "version", 1)
        await self._redis.hset(key, f"toml:{version}", text)
        await self._redis.sadd(self._global.campaigns, campaign_id)
        return True

    async def version_text(self, campaign_id: str, version: int) -> str | None:
        """The file of one version (every version is kept)."""
        raw = await self._redis.hget(
            CampaignKeys(self._prefix, campaign_id).config, f"toml:{version}"
        )
        return None if raw is None else raw.decode() if isinstance(raw, bytes) else str(raw)

    async def versions(self, campaign_id: str) -> list[int]:
        fields = await self._redis.hkeys(CampaignKeys(self._prefix, campaign_id).config)
        names = [f.decode() if isinstance(f, bytes) else str(f) for f in fields]
        return sorted(int(n[5:]) for n in names if n.startswith("toml:"))

    async def ids(self) -> list[str]:
        members = await self._redis.smembers(self._global.campaigns)
        return sorted(m.decode() if isinstance(m, bytes) else m for m in members)

    async def version(self, campaign_id: str) -> int:
        key = CampaignKeys(self._prefix, campaign_id).config
        return int(await self._redis.hget(key, "version") or 0)

    async def load(self, campaign_id: str) -> tuple[int, str] | None:
        key = CampaignKeys(self._prefix, campaign_id).config
        text, version = await self._redis.hmget(key, ["toml", "version"])
        if text is None:
            return None
        return int(version or 0), text.decode() if isinstance(text, bytes) else text

    async def keyspaces(self, campaign_id: str) -> CampaignKeyspaces:
        """The campaign's keyspaces, its stock buckets' by its live file (its own alone when
        it has no file)."""
        loaded = await self.load(campaign_id)
        k = parse_campaign(loaded[1]).stock.buckets if loaded else 1
        return CampaignKeyspaces.of(self._prefix, campaign_id, k)
