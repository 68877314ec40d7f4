"""The product's Redis client sends a command once: a reply slower than the timeout is a 503,
never a second run of a script that places orders or settles a payment, nor of a transaction
that books a payout."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.store.connection import connect
from server.store.replicated import confirmed

# Counts its run, then takes ARGV[1] ms: a script whose reply comes later than the client's
# timeout, as a batch of orders can in a slow spell.
SLOW_COUNT = """
local function now_ms()
  local t = redis.call('TIME')
  return t[1] * 1000 + t[2] / 1000
end
local runs = redis.call('INCR', KEYS[1])
local start = now_ms()
while now_ms() - start < tonumber(ARGV[1]) do end
return runs
"""


async def alone(client: Redis, key: str) -> None:
    await client.eval(SLOW_COUNT, 1, key, 250)


async def replicated(client: Redis, key: str) -> None:
    """Durability "replicated"'s pipeline: the script, then WAIT."""

    def add(pipe: Pipeline) -> None:
        pipe.eval(SLOW_COUNT, 1, key, 250)

    await confirmed(client, key, add, (1, 50))


async def in_transaction(client: Redis, key: str) -> None:
    """MULTI/EXEC, as a payout's stream entry is booked: the cluster client retries
    transactions by a list of its own, which the client's checker overrules."""
    async with client.pipeline(transaction=True) as pipe:
        pipe.eval(SLOW_COUNT, 1, key, 250)
        await pipe.execute()


@pytest.mark.parametrize("send", [alone, replicated, in_transaction])
async def test_a_script_slower_than_the_timeout_is_not_run_again(
    redis_url: str,
    redis: Redis,
    key_prefix: str,
    send: Callable[[Redis, str], Awaitable[None]],
) -> None:
    key = f"{key_prefix}:runs"
    impatient = connect(redis_url, timeout_s=0.15)
    try:
        with pytest.raises(RedisTimeoutError):
            await send(impatient, key)
        # A retry would have reached the server once the first run ended, and run again
        await asyncio.sleep(0.5)
        assert await redis.get(key) == b"1"
    finally:
        await impatient.aclose()
