"""The ledger worker's reading side: a consumer group on every campaign's order stream.

A batch is acknowledged only after its SQL transaction commits. After a crash the
same consumer name re-reads its own pending entries first; entries left pending by a
consumer that never came back are taken over with XAUTOCLAIM. Trimming keeps every
entry that some consumer group has not yet acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.buckets import campaign_of, ledger_entry_id
from server.ledger.apply import (
    Entry,
    apply_audit_entries,
    apply_entries,
    apply_identity_entries,
    stream_position,
)
from server.store.connection import is_cluster
from server.store.keys import CampaignKeys, IdentityKeys, OpsKeys
from server.store.replicated import NotReplicated, Replicas, confirmed
from server.store.stock import text

log = logging.getLogger("liveroom.worker")

GROUP = "ledger"
IDENTITY = "_identity"  # the user pool's stream, applied beside the campaigns' streams
OPS = "_ops"  # the ops team's audit stream, likewise
CLUSTER_POLL_MS = 50  # an idle consumer's pause between reads that cannot block (_poll)


class LedgerConsumer:
    def __init__(
        self,
        redis: Redis,
        engine: AsyncEngine,
        prefix: str,
        name: str,
        *,
        batch: int = 500,
        claim_idle_ms: int = 60_000,
        wait_for: Replicas = None,
    ) -> None:
        self._redis = redis
        self._engine = engine
        self._prefix = prefix
        self.name = name
        self._batch = batch
        self._claim_idle_ms = claim_idle_ms
        # durability "replicated": apply only entries a replica holds, so the ledger never
        # keeps an order a failover took out of Redis
        self._wait_for = wait_for
        self._known: set[str] = set()

    async def consume(self, keyspaces: Sequence[str], block_ms: int = 500) -> int:
        """One round: own pending entries first, then others' stale ones, then new ones.
        `keyspaces`: every campaign's, each a campaign id or a stock bucket's "<cid>@<n>"
        (domain/buckets.py), whose entries go to the ledger under their campaign."""
        streams = {CampaignKeys(self._prefix, ks).stream: ks for ks in keyspaces}
        streams[IdentityKeys(self._prefix).stream] = IDENTITY
        streams[OpsKeys(self._prefix).audit] = OPS
        for stream in streams.keys() - self._known:
            await self._ensure_group(stream)
        applied = 0
        for stream, campaign_id in streams.items():
            applied += await self._apply(stream, campaign_id, await self._read(stream, "0"))
            applied += await self._apply(stream, campaign_id, await self._claim_stale(stream))
        if applied:
            return applied
        if is_cluster(self._redis) or self._wait_for is not None:
            return await self._poll(streams, block_ms)
        reply: Any = await self._redis.xreadgroup(
            GROUP, self.name, {s: ">" for s in streams}, count=self._batch, block=block_ms
        )
        for stream, entries in reply or []:
            applied += await self._apply(text(stream), streams[text(stream)], _entries(entries))
        return applied

    async def _poll(self, streams: dict[str, str], block_ms: int) -> int:
        """A cluster refuses one read over streams in different slots, and a read confirmed
        by a replica cannot block: read each stream on its own without blocking, and pause
        a moment when all were empty."""
        applied = 0
        for stream, campaign_id in streams.items():
            applied += await self._apply(stream, campaign_id, await self._read(stream, ">"))
        if not applied:
            await asyncio.sleep(min(block_ms, CLUSTER_POLL_MS) / 1000)
        return applied

    async def trim(self, keyspaces: Sequence[str]) -> None:
        """Drop entries every consumer group has acknowledged; never an unacknowledged one."""
        streams = [CampaignKeys(self._prefix, ks).stream for ks in keyspaces]
        streams += [IdentityKeys(self._prefix).stream, OpsKeys(self._prefix).audit]
        for stream in streams:
            floor = await self._lowest_unacknowledged(stream)
            if floor is not None:
                await self._redis.xtrim(stream, minid=floor, approximate=False)

    async def _lowest_unacknowledged(self, stream: str) -> str | None:
        try:
            infos = await self._redis.xinfo_groups(stream)
        except ResponseError:
            return None
        floors = []
        for info in infos:
            group = text(info["name"])
            pending = await self._redis.xpending(stream, group)
            if pending["pending"]:
                floors.append(text(pending["min"]))
            else:  # everything up to last-delivered-id is acknowledged: keep what follows
                ms, seq = stream_position(text(info["last-delivered-id"]))
                floors.append(f"{ms}-{seq + 1}")
        return min(floors, key=stream_position) if floors else None

    async def _ensure_group(self, stream: str) -> None:
        try:
            await self._redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._known.add(stream)

    async def _read(self, stream: str, start: str) -> list[Entry]:
        """Entries to apply; under durability "replicated" none until a replica holds them
        (they stay pending to this consumer, which reads its pending first next round)."""
        reply: Any
        if self._wait_for is None:
            reply = await self._redis.xreadgroup(
                GROUP, self.name, {stream: start}, count=self._batch
            )
        else:
            try:
                reply = await confirmed(
                    self._redis,
                    stream,
                    lambda pipe: pipe.xreadgroup(
                        GROUP, self.name, {stream: start}, count=self._batch
                    ),
                    self._wait_for,
                )
            except NotReplicated as exc:
                log.warning("%s: not applied until a replica has it: %s", stream, exc)
                return []
        return [entry for _, entries in reply or [] for entry in _entries(entries)]

    async def _claim_stale(self, stream: str) -> list[Entry]:
        reply = await self._redis.xautoclaim(
            stream, GROUP, self.name, self._claim_idle_ms, start_id="0-0", count=self._batch
        )
        return _entries(reply[1])

    async def _apply(self, stream: str, keyspace: str, entries: list[Entry]) -> int:
        if not entries:
            return 0
        async with self._engine.begin() as conn:
            if keyspace == IDENTITY:
                applied = await apply_identity_entries(conn, entries)
            elif keyspace == OPS:
                applied = await apply_audit_entries(conn, entries)
            else:
                campaign_id = campaign_of(keyspace)
                named = [(ledger_entry_id(sid, keyspace), fields) for sid, fields in entries]
                applied = await apply_entries(conn, campaign_id, named)
        # Acknowledge only after the commit: a crash before this line redelivers the batch,
        # and apply_entries skips what the ledger already holds.
        await self._redis.xack(stream, GROUP, *[stream_id for stream_id, _ in entries])
        if applied < len(entries):
            log.info(
                "%s: %d redelivered entries were already in the ledger",
                keyspace,
                len(entries) - applied,
            )
        return len(entries)


async def backlog(redis: Redis, prefix: str, keyspaces: Sequence[str]) -> int:
    """Entries the ledger has not applied yet: undelivered plus delivered-but-unacknowledged,
    over the user pool's stream and every campaign keyspace's."""
    streams = [IdentityKeys(prefix).stream, OpsKeys(prefix).audit]
    streams += [CampaignKeys(prefix, ks).stream for ks in keyspaces]
    behind = 0
    for stream in streams:
        with contextlib.suppress(ResponseError):  # no stream yet: nothing behind
            for group in await redis.xinfo_groups(stream):
                if text(group["name"]) == GROUP:
                    behind += int(group.get("lag") or 0) + int(group["pending"])
    return behind


def _entries(raw: Sequence[Any]) -> list[Entry]:
    entries: list[Entry] = []
    for stream_id, fields in raw:
        # An entry deleted while pending comes back without fields: acknowledged, not applied.
        decoded: Mapping[str, str] = {text(k): text(v) for k, v in (fields or {}).items()}
        entries.append((text(stream_id), decoded))
    return entries
