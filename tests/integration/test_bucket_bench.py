"""loadtest/bucket_bench.py on the CI cluster, briefly: it reports every K it was asked
for, with the buckets on as many shards and every unit of each sell-out sold once; and its
options are checked before anything runs."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from loadtest.bucket_bench import main
from tests.conftest import service_redis_url


def test_a_short_run_measures_each_k_and_sells_out_whole(tmp_path: Path) -> None:
    cluster = service_redis_url("cluster")
    args = ["--cluster", cluster, "--buckets", "1,3", "--seconds", "1", "--rounds", "1"]
    assert main([*args, "--sell-out", "300", "--out", str(tmp_path)]) == 0
    results = orjson.loads((tmp_path / "buckets.json").read_bytes())
    assert [r["k"] for r in results["throughput"]] == [1, 3]
    assert [r["shards_holding_buckets"] for r in results["throughput"]] == [1, 3]
    assert all(r["orders_per_s"] > 0 and r["units_add_up"] for r in results["throughput"])
    sold = results["sell_out"]
    assert all(s["accepted"] == s["units_direct_can_take"] > 0 for s in sold)
    assert sold[0]["units_lent"] == 0 and sold[1]["units_lent"] > 0


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--cluster", "redis://127.0.0.1:6379"], "--cluster"),
        (["--cluster", "redis+cluster://x:1", "--buckets", "0,2"], "--buckets"),
        (["--cluster", "redis+cluster://x:1", "--buckets", "two"], "--buckets"),
        (["--cluster", "redis+cluster://x:1", "--seconds", "0"], "--seconds"),
    ],
)
def test_bad_options_are_refused_naming_the_option(
    args: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2 and named in capsys.readouterr().err
