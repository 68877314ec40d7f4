"""The soak tool, small: slow clients, endless uploads and silent feeds while a spike runs
against a real demo process; the tool's verdict must be PASS (the full-size run and its
figures are in docs/performance.md)."""

from __future__ import annotations

import subprocess
import sys

import orjson

from tests.server_harness import free_port


def test_a_small_soak_passes() -> None:
    command = [
        sys.executable,
        "-m",
        "loadtest.soak",
        "--port",
        str(free_port()),
        "--slow",
        "60",
        "--silent",
        "20",
        "--units",
        "200",
        "--factor",
        "5",
        "--before",
        "2",
        "--after",
        "1",
        "--json",
    ]
    done = subprocess.run(command, capture_output=True, timeout=110, check=False)
    result = orjson.loads(done.stdout)
    assert done.returncode == 0 and result["verdict"] == "PASS", result["problems"]
    assert result["slow_clients"]["connections"] >= 60
    assert result["upload"]["attempts"] >= 1 and result["silent_feeds"] == 20
    assert result["spike"]["accepted"] > 0
