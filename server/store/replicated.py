"""Durability "replicated": a write counts only once a replica has it.

Redis replicates asynchronously, so a primary that dies just after answering can take its
last writes with it when a replica is promoted: an order the viewer was told is theirs would
be gone, or the ledger would hold an order Redis no longer has. `WAIT n timeout` returns once
n replicas hold everything its own connection wrote (and everything written before it), so
the command and the WAIT travel in one pipeline, on one connection: on a cluster, to the
shard that holds the command's key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, RedisError

from server.errors import BadInput
from server.store.connection import is_cluster

# (replicas, timeout in ms) a write waits for under durability "replicated"; None: none
Replicas = tuple[int, int] | None


class NotReplicated(RedisError):
    """No replica confirmed in time. The primary has the write and it may or may not
    survive a failover, so the caller must not promise it: a retry under the same
    Idempotency-Key answers it once it is confirmed."""


async def require_replicas(redis: Redis) -> None:
    """Start-up under durability "replicated": every primary needs a replica, or no order
    could ever be confirmed."""
    if is_cluster(redis):
        by_node = await cast(RedisCluster, redis).info(
            "replication", target_nodes=RedisCluster.PRIMARIES
        )
        counts = {str(node): int(info.get("connected_slaves", 0)) for node, info in by_node.items()}
    else:
        counts = {"REDIS_URL": int((await redis.info("replication")).get("connected_slaves", 0))}
    alone = sorted(node for node, replicas in counts.items() if replicas < 1)
    if alone:
        raise BadInput(
            f"durability 'replicated' needs a replica of every primary; none of {alone}",
            "LIVEROOM_DURABILITY",
        )


async def confirmed(
    redis: Redis, key: str, add: Callable[[Pipeline], object], replicas: tuple[int, int]
) -> Any:
    """The reply of the command `add` puts in the pipeline, once replicas hold it."""
    needed, timeout_ms = replicas
    async with redis.pipeline(transaction=False) as pipe:
        add(pipe)
        if is_cluster(redis):
            shard = cast(RedisCluster, redis).get_node_from_key(key)
            pipe.execute_command("WAIT", needed, timeout_ms, target_nodes=shard)
        else:
            pipe.wait(needed, timeout_ms)
        reply, acknowledged = await pipe.execute(raise_on_error=False)
    if isinstance(reply, Exception):
        raise reply
    if isinstance(acknowledged, Exception):
        raise acknowledged
    if int(acknowledged) < needed:
        raise NotReplicated(f"{acknowledged} of {needed} replicas confirmed in {timeout_ms} ms")
    return reply


async def run_script(
    redis: Redis,
    script: AsyncScript,
    keys: Sequence[str],
    args: Sequence[str | int | bytes],
    replicas: tuple[int, int],
) -> Any:
    def add(pipe: Pipeline) -> None:
        pipe.evalsha(script.sha, len(keys), *keys, *args)

    try:
        return await confirmed(redis, keys[0], add, replicas)
    except NoScriptError:  # the server forgot it (a restart, a promoted replica): once more
        await redis.script_load(script.script)
        return await confirmed(redis, keys[0], add, replicas)
