"""One way to open a Redis connection: short timeouts, so an outage answers 503 fast.

A URL `redis://…` (or `rediss://…`) names one server; `redis+cluster://host:port,host:port/`
(or `rediss+cluster://…`) names a Redis Cluster by any of its nodes, and gets redis-py's
cluster client. Every key the product writes carries a hash tag (a campaign, `{identity}`,
`{ops}` …), so each script and each transaction stays inside one slot; the few places
where a cluster behaves differently (sharded pub/sub, a blocking read over several
streams) ask `is_cluster`.
"""

from __future__ import annotations

from typing import cast
from urllib.parse import urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import (
    ClusterDownError,
    RedisClusterUnreachableError,
    RedisError,
    SlotNotCoveredError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.errors import BadInput

# What Redis raises when it cannot answer: a server down, or a cluster with no primary for a
# slot or no node to ask (the last two are not RedisErrors in redis-py)
REDIS_OUTAGES = (RedisError, SlotNotCoveredError, RedisClusterUnreachableError)
MAX_CONNECTIONS = 64  # per process (per node in a cluster); orders are batched
CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}  # scheme -> TLS
# A command is sent again only after a connection error. Not after a timeout: the server may
# be running it still (a batch of orders behind a slow spell), and a second run would place
# the orders twice or settle a payment as its own duplicate. The caller answers 503
# outcome_unknown instead (gateway/http.py).
RETRIED_ERRORS = (RedisConnectionError,)


def _not_a_timeout(error: Exception) -> bool:
    # The cluster client's transactions add TimeoutError back to what they retry; this
    # checker, which every copy of the client's Retry keeps, takes it out again.
    return not isinstance(error, RedisTimeoutError)


def connect(url: str, timeout_s: float) -> Redis:
    if is_cluster_url(url):
        return _connect_cluster(url, timeout_s)
    # A spike has more requests in flight than connections: they wait for one (up to the
    # timeout) instead of failing, which a plain pool does once it is exhausted.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=timeout_s,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 1, supported_errors=RETRIED_ERRORS),
        health_check_interval=30,
    )
    return Redis.from_pool(pool)  # closing the client closes the pool


def is_cluster_url(url: str) -> bool:
    return urlsplit(url).scheme in CLUSTER_SCHEMES


def is_cluster(redis: Redis) -> bool:
    return isinstance(redis, RedisCluster)


def cluster_nodes(url: str) -> list[tuple[str, int]]:
    """The seed nodes of a cluster URL: `redis+cluster://h1:p1,h2:p2/`."""
    parts = urlsplit(url)
    if parts.scheme not in CLUSTER_SCHEMES:
        raise BadInput("not a cluster URL (redis+cluster://host:port,…)", "REDIS_URL")
    nodes = []
    for seed in parts.netloc.rpartition("@")[2].split(","):
        host, _, port = seed.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise BadInput(f"each cluster node must be host:port, not {seed!r}", "REDIS_URL")
        nodes.append((host.strip("[]"), int(port)))
    return nodes


class _Cluster(RedisCluster):
    # The cluster client retries a single command on these, not on its Retry's supported
    # errors (redis-py types the tuple with TimeoutError in it, hence the ignore)
    ERRORS_ALLOW_RETRY = (  # type: ignore[assignment]
        *RETRIED_ERRORS,
        ClusterDownError,
        SlotNotCoveredError,
    )


def _connect_cluster(url: str, timeout_s: float) -> Redis:
    parts = urlsplit(url)
    client = _Cluster(
        startup_nodes=[ClusterNode(host, port) for host, port in cluster_nodes(url)],
        username=parts.username,
        password=parts.password,
        ssl=CLUSTER_SCHEMES[parts.scheme],
        max_connections=MAX_CONNECTIONS,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        # A primary that dies is replaced by its replica within the node timeout: retry
        # through that window (the client re-reads the slots between attempts).
        retry=Retry(
            ExponentialBackoff(cap=1.0, base=0.05),
            6,
            supported_errors=RETRIED_ERRORS,
            is_retryable=_not_a_timeout,
        ),
    )
    # The cluster client answers every command the product sends, slot by slot; typing it
    # as the standalone client keeps one type through the code (`is_cluster` tells them apart).
    return cast(Redis, client)
