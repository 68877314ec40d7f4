"""Counters a process keeps about its edge, for Prometheus (prometheus-client's registry),
served at /metrics with the campaign-wide figures read from Redis at each scrape.

Only what the logs deliberately leave out goes here: events too frequent or too
unremarkable for a log line (a client that left mid-body, a refused upload, a rate limit),
and the last reconcile's verdict.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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

# The order path's trips to Redis: each carries every order (or buyer look-up) of one
# event-loop tick, so orders per trip says how well the batching works under load.
REDIS_TRIPS = Counter(
    "liveroom_redis_round_trips_total", "Round trips to Redis on the order path", ["purpose"]
)
ORDERS_PER_RESERVE = Histogram(
    "liveroom_orders_per_reserve_call",
    "Orders placed by one reserve.lua call",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
REDIS_ERRORS = Counter(
    "liveroom_redis_errors_total",
    "Requests answered 503 because Redis failed or timed out, by error",
    ["error"],
)
SOLD_OUT_BY_FLAG = Counter(
    "liveroom_sold_out_by_flag_total",
    "Orders this process refused sold out from its stock messages, without asking Redis",
)

FEED_LAG = Histogram(
    "liveroom_feed_lag_seconds",
    "From an order stream entry to the live-feed frames showing it (Redis's clock to ours)",
    buckets=(0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5),
)

RECONCILE_PROBLEMS = Gauge(
    "liveroom_reconcile_problems",
    "Mismatches the last reconcile run by this process found (0: clean)",
    ["campaign"],
)
RECONCILE_AT = Gauge(
    "liveroom_reconcile_timestamp_seconds", "When this process last ran reconcile", ["campaign"]
)
