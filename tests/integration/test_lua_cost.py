"""loadtest/lua_cost.py counts what it claims: the same script gives the same count to within
a percent, and a script doing less (no stream entries) counts less by more than that."""

from __future__ import annotations

import shutil

from loadtest.lua_cost import instructions_per_order
from server.store.scripts import lua_source
from tests.conftest import missing_service

SMALL = {"per_call": 4, "warm": 8, "measured": 16}


async def test_the_same_script_counts_the_same_and_less_work_counts_less() -> None:
    if not (shutil.which("valgrind") and shutil.which("redis-server")):
        missing_service("valgrind and redis-server count the instructions (apt-get install them)")
    source = lua_source("reserve")
    first = await instructions_per_order(source, **SMALL)
    again = await instructions_per_order(source, **SMALL)
    # within 1%: the stream entries' ids come from the clock, and their encoding with them
    assert first > 10_000 and abs(first - again) / first < 0.01
    xadd = 'redis.call("XADD", KEYS[7]'
    assert xadd in source
    lighter = await instructions_per_order(source.replace(xadd, "-- " + xadd), **SMALL)
    assert lighter < first * 0.97
