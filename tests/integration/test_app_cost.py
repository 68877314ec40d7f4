"""loadtest/app_cost.py measures what it claims, small: every order it times was placed (201)
and every sold-out request refused, and the order lane, which does everything the bare
endpoint does and more, costs more."""

from __future__ import annotations

import asyncio

import pytest

from loadtest.app_cost import measure
from loadtest.bench import BENCH_RATE_LIMITS, Bench


@pytest.mark.parametrize("redis_url", ["valkey"], indirect=True)
def test_timed_orders_are_placed_and_cost_more_than_the_bare_endpoint(redis_url: str) -> None:
    bench = Bench(redis_url, 0, 0, 0, BENCH_RATE_LIMITS)
    try:
        result = asyncio.run(
            measure(bench, rounds=2, requests=480, in_flight=48, served_heap=False)
        )
    finally:
        asyncio.run(bench.clean_up())
    assert result["orders"]["answers"] == {"201": 2 * 480}
    assert result["sold_out"]["answers"] == {"409": 2 * 480}
    assert result["bare"]["answers"] == {"201": 2 * 480}
    assert result["orders"]["cpu_us"] > result["bare"]["cpu_us"] > 0
