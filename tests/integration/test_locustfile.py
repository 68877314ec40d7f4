"""The Locust rehearsal runs unchanged, headless, against a real server: viewers log in,
hold the live feed, wait for 开抢, order in the mix and pay; the ops screen holds the
dashboard feed. Locust exits non-zero on any failed request."""

from __future__ import annotations

import asyncio
import csv
import os
import sys
from pathlib import Path

from redis.asyncio import Redis

from tests.conftest import OPS_TOKEN, PAYMENT_SECRET, TIME_FACTOR
from tests.integration.conftest import Serve

LOCUSTFILE = Path(__file__).parents[2] / "loadtest" / "locustfile.py"


async def test_locust_rehearsal_runs_headless(
    serve: Serve, redis: Redis, key_prefix: str, tmp_path: Path
) -> None:
    async with serve() as s:
        env = {
            **os.environ,
            "LIVEROOM_OPS_TOKEN": OPS_TOKEN,
            "LIVEROOM_PAYMENT_SECRET": PAYMENT_SECRET,
        }
        command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless"]
        command += ["-u", "12", "-r", "12", "-t", "8s", "--host", s.base_url]
        command += ["--kaiqiang-in", "2", "--csv", str(tmp_path / "run"), "--only-summary"]
        locust = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        output, _ = await asyncio.wait_for(locust.communicate(), 90 * TIME_FACTOR)
        assert locust.returncode == 0, output.decode()[-3000:]
    with (tmp_path / "run_stats.csv").open() as stats:
        counts = {row["Name"]: int(row["Request Count"]) for row in csv.DictReader(stats)}
    assert counts.get("login", 0) >= 11  # every viewer (the ops screen does not log in)
    assert sum(n for name, n in counts.items() if name.startswith("order ")) > 0
    assert counts.get("payment webhook", 0) > 0
    assert counts.get("live feed", 0) > 0 and counts.get("dashboard feed", 0) > 0
    counters = await redis.hgetall(f"{key_prefix}:{{mid-autumn}}:counters")
    assert int(counters.get(b"orders.accepted", 0)) > 0
