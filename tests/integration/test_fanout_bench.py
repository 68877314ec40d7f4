"""The fan-out benchmark itself, small: against a real `liveroom demo` its watchers time
every order and every client, watcher or listener, is heard to see the sequence advance."""

from __future__ import annotations

from loadtest.fanout import run
from tests.server_harness import free_port


async def test_watchers_time_every_order_and_every_listener_is_heard() -> None:
    result = await run(
        clients=40, orders=5, rate=20, port=free_port(), processes=2, watchers=8, big_screens=4
    )
    assert result["clients_seq_advanced"] == 44  # the live rooms and the big screens
    assert result["lag_samples"] == 8 * 5  # one per (watcher, order), coalesced or not
    assert 0 <= result["lag_p50_ms"] <= result["lag_p99_ms"] < 5_000
    assert result["screen_lag_samples"] == 4 * 5  # the big screens, timed apart
    assert 0 <= result["screen_lag_p50_ms"] <= result["screen_lag_p99_ms"] < 5_000
    assert result["kib_per_idle_connection"] > 0
