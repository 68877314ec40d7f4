from __future__ import annotations

import asyncio

import pytest

from server.store.batching import Coalescer


async def test_calls_of_one_tick_share_one_round_trip() -> None:
    batches: list[list[int]] = []

    async def run(items: list[int]) -> list[int]:
        batches.append(items)
        return [i * 10 for i in items]

    coalescer: Coalescer[int, int] = Coalescer(run)
    results = await asyncio.gather(*(coalescer.submit(i) for i in range(5)))
    assert results == [0, 10, 20, 30, 40]
    assert batches == [[0, 1, 2, 3, 4]]


async def test_batches_are_capped() -> None:
    sizes: list[int] = []

    async def run(items: list[int]) -> list[int]:
        sizes.append(len(items))
        return items

    coalescer: Coalescer[int, int] = Coalescer(run, max_batch=4)
    assert await asyncio.gather(*(coalescer.submit(i) for i in range(10))) == list(range(10))
    assert max(sizes) <= 4 and sum(sizes) == 10


async def test_a_failed_round_trip_fails_every_waiter() -> None:
    async def run(items: list[int]) -> list[int]:
        raise ConnectionError("down")

    coalescer: Coalescer[int, int] = Coalescer(run)
    results = await asyncio.gather(*(coalescer.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    with pytest.raises(ConnectionError):
        await coalescer.submit(1)
