"""Counters a process keeps about its edge, for Prometheus (prometheus-client's registry),
served at /metrics with the campaign-wide figures read from Redis at each scrape.

Only what the logs deliberately leave out goes here: events too frequent or too
unremarkable for a log line (a client that left mid-body, a refused upload, a rate limit),
and the last reconcile's verdict.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CLIENTS_LEFT_MID_BODY = Counter(
    "liveroom_clients_left_mid_body_total",
    "Requests whose client disconnected before sending its whole body",
)
BODIES_TOO_LARGE = Counter(
    "liveroom_bodies_too_large_total", "Requests refused 413 because their body passed its limit"
)
RATE_LIMITED = Counter("liveroom_rate_limited_total", "Requests refused 429", ["endpoint", "by"])
CONNECTIONS_REFUSED = Counter(
    "liveroom_connections_refused_total", "Connections answered 503 past the connection cap"
)
SLOW_CLIENTS_CLOSED = Counter(
    "liveroom_slow_clients_closed_total",
    "Connections closed because headers or body did not arrive in time",
    ["phase"],
)

RECONCILE_PROBLEMS = Gauge(
    "liveroom_reconcile_problems",
    "Mismatches the last reconcile run by this process found (0: clean)",
    ["campaign"],
)
RECONCILE_AT = Gauge(
    "liveroom_reconcile_timestamp_seconds", "When this process last ran reconcile", ["campaign"]
)
