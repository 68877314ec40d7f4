"""Garbage-collector settings for a long-running gateway process.

A gateway allocates many short-lived containers per request (dicts, lists, pydantic models)
beside a large long-lived heap (campaigns, caches, connections). With CPython's default
thresholds (700, 10, 10) the collector runs every few requests and keeps walking that heap;
on the order path that was a fifth of the gateway's CPU (docs/performance.md). Reference
counting frees nearly all of a request's garbage at once; only cycles wait for the collector,
and with these settings they wait a little longer.
"""

from __future__ import annotations

import gc

YOUNG_COLLECTION_EVERY = 20_000  # allocations (CPython's default: 700)


def settle_after_start_up() -> None:
    """Freeze what start-up built (never scanned again) and collect the young less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, 20, 100)
