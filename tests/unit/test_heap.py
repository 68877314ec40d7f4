"""A served gateway settles its heap once started: start-up objects frozen, young
collections rarer. Checked in a child process, so this test process keeps its own GC."""

from __future__ import annotations

import subprocess
import sys

from server.heap import YOUNG_COLLECTION_EVERY

CHILD = """
import gc
from server.heap import settle_after_start_up
before = gc.get_threshold()
settle_after_start_up()
print(before[0], gc.get_threshold()[0], gc.get_freeze_count() > 0)
"""


def test_settling_freezes_start_up_and_collects_the_young_less_often() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["700", str(YOUNG_COLLECTION_EVERY), "True"]
