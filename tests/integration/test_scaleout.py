"""The scale-out rehearsal tool, small: two gateway processes and two workers on the Redis
Cluster and PostgreSQL, the spike round-robin over both, both gateways' feeds showing the
final stock, a PASS, and a CPU figure for every party."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from redis.asyncio import Redis

from loadtest.scaleout import rehearse
from tests.server_harness import free_port

pytestmark = pytest.mark.parametrize(
    ("redis_url", "ledger_url"), [("cluster", "postgres")], indirect=True
)


async def test_a_spike_over_two_gateways_and_two_workers_passes(
    redis: Redis, redis_url: str, ledger_url: str, key_prefix: str, tmp_path: Path
) -> None:
    """`redis` is here for its clean-up of this test's keys."""
    args = argparse.Namespace(
        redis_url=redis_url,
        database_url=ledger_url,
        key_prefix=key_prefix,
        ports=[free_port(), free_port()],
        workers=2,
        units=200,
        factor=2,
        concurrency=32,
        buckets=2,  # the stock over two buckets: both gateways' feeds still agree
    )
    result = await rehearse(args)
    assert result["verdict"] == "PASS", result["problems"]
    assert result["gateways"] == 2 and result["feed_lag_ms"] is not None
    assert 0 < result["accepted"] == result["pools_gave"] == result["ledger_orders"]
    cpu = result["cpu_us_per_accepted_order"]
    assert set(cpu) == {"gateways", "redis", "workers", "postgresql", "client"}
    assert cpu["gateways"] > 0 and cpu["redis"] > 0 and cpu["workers"] > 0
