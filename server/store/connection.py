"""One way to open a Redis connection: short timeouts, so an outage answers 503 fast."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

MAX_CONNECTIONS = 64  # per process; orders are batched, so few connections carry many


def connect(url: str, timeout_s: float) -> Redis:
    # A spike has more requests in flight than connections: they wait for one (up to the
    # timeout) instead of failing, which a plain pool does once it is exhausted.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=timeout_s,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )
    return Redis.from_pool(pool)  # closing the client closes the pool
