"""The benchmark's arithmetic: a configuration's rounds become one row of medians (requests
and answers summed), and the target ratios come from those rows."""

from __future__ import annotations

from typing import Any

from loadtest.bench import ratios, summarise


def _round(
    per_s: int,
    p99_ms: float,
    server_us: float,
    answers: dict[str, int],
    redis_us: float = 1.0,
) -> dict[str, Any]:
    requests = sum(answers.values())
    return {
        "per_s": per_s,
        "p50_ms": p99_ms / 3,
        "p90_ms": p99_ms / 2,
        "p99_ms": p99_ms,
        "requests": requests,
        "errors": 0,
        "answers": answers,
        "cpu_us_per_request": {"server": server_us, "redis": redis_us, "wrk": 20.0},
    }


def test_a_row_is_the_median_of_its_rounds() -> None:
    row = summarise(
        [
            _round(900, 30.0, 110.0, {"201": 9000}),
            _round(1000, 10.0, 100.0, {"201": 10_000}),
            _round(1200, 20.0, 90.0, {"201": 12_000, "409": 1}),
        ]
    )
    assert row["per_s"] == 1000 and row["per_s_rounds"] == [900, 1000, 1200]
    assert row["p99_ms"] == 20.0  # each figure's own median, not the median round's
    assert row["cpu_us_per_request"] == {"server": 100.0, "redis": 1.0, "wrk": 20.0}
    assert row["requests"] == 31_001 and row["answers"] == {"201": 31_000, "409": 1}


def _row(per_s: int, p99_ms: float, server_us: float = 100, redis_us: float = 1) -> dict[str, Any]:
    return summarise([_round(per_s, p99_ms, server_us, {"201": per_s}, redis_us)])


def test_the_ratios_compare_each_path_with_the_bare_endpoint() -> None:
    results = {
        "workers": {
            "1": {
                "bare": _row(20_000, 10.0, server_us=60.0),
                "orders": _row(8_000, 25.0, server_us=120.0, redis_us=30.0),
                "orders_unmetered": _row(8_100, 25.0, server_us=117.6),
                "sold_out": _row(21_000, 9.0),
            },
            "2": {
                "bare": _row(25_000, 10.0, server_us=64.0),
                "orders": _row(10_000, 18.0, server_us=80.0, redis_us=12.0),
                "orders_unmetered": _row(10_000, 18.0, server_us=80.0),
                "sold_out": _row(25_000, 9.0),
            },
        }
    }
    got = ratios(results)
    assert got["orders_1w"] == 0.4 and got["sold_out_1w"] == 1.05
    assert got["orders_2w"] == 0.4 and got["sold_out_2w"] == 1.0
    assert got["orders_p99_1w"] == 2.5 and got["orders_p99_2w"] == 1.8
    # 1 -> 2 workers: bare +25%, orders +25%: the whole of the bare gain, in relative terms
    assert got["scaling_speedup_share"] == 1.0
    assert got["scaling_absolute_share"] == 0.4  # +2,000 orders/s against +5,000 requests/s
    # issue 18: CPU per accepted order against the bare endpoint's CPU per request
    assert got["gateway_cpu_per_order_vs_bare_1w"] == 2.0
    assert got["gateway_cpu_per_order_vs_bare_2w"] == 1.25
    assert got["redis_us_per_order_1w"] == 30.0 and got["redis_us_per_order_2w"] == 12.0
    assert got["redis_cpu_per_order_vs_bare_1w"] == 0.5
    assert got["redis_cpu_per_order_vs_bare_2w"] == 0.19
    # the gateway with request metrics spends 2% more per order than without (0% with 2)
    assert got["request_metrics_cpu_cost_1w"] == 0.02
    assert got["request_metrics_cpu_cost_2w"] == 0.0
