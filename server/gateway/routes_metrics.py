"""GET /metrics: Prometheus's text format, for the ops team's Grafana (docs/grafana/).

What each gateway process counts itself (its edge, its last reconcile, the process) comes
from prometheus-client's registry; what the whole campaign did (orders by outcome, money,
the order stream and the ledger's lag, the warehouses) is read from Redis at each scrape, so
nothing is added to the order path and every process answers the same campaign figures.
Guarded by the ops token (Prometheus: `authorization: {credentials: <token>}`).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.exceptions import ResponseError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.gateway.context import Gateway, gateway
from server.ledger.consumer import GROUP
from server.runtime import LiveCampaign
from server.store.stock import text


class _Snapshot(Collector):
    """Families read before the scrape (collect() cannot await Redis)."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families


async def _campaign_families(gw: Gateway) -> list[Metric]:
    orders = CounterMetricFamily(
        "liveroom_orders",
        "Order requests Redis answered, by outcome",
        labels=["campaign", "outcome"],
    )
    money = GaugeMetricFamily("liveroom_money_fen", "Money so far", labels=["campaign", "kind"])
    stream = GaugeMetricFamily(
        "liveroom_stream_entries", "The order stream's length", labels=["campaign"]
    )
    lag = GaugeMetricFamily(
        "liveroom_ledger_lag_entries",
        "Stream entries the ledger has not applied yet (not delivered, or delivered and pending)",
        labels=["campaign"],
    )
    units = GaugeMetricFamily(
        "liveroom_warehouse_units", "Units per warehouse", labels=["campaign", "warehouse", "state"]
    )
    for campaign_id, live in list(gw.runtime.campaigns.items()):
        counts, length, behind = await _read(gw, live)
        orders.add_metric([campaign_id, "accepted"], counts.get("orders.accepted", 0))
        for name, value in counts.items():
            if name.startswith("refused."):
                orders.add_metric([campaign_id, name.removeprefix("refused.")], value)
        money.add_metric([campaign_id, "paid"], counts.get("gmv.paid_fen", 0))
        money.add_metric([campaign_id, "refunded"], counts.get("refunds.fen", 0))
        stream.add_metric([campaign_id], length)
        lag.add_metric([campaign_id], behind)
        for code, level in (await live.warehouses.levels()).houses.items():
            for state in ("free", "allocated", "shipped"):
                units.add_metric([campaign_id, code, state], getattr(level, state))
    feeds = GaugeMetricFamily(
        "liveroom_feed_subscribers", "Open live feeds of this process", labels=["campaign", "kind"]
    )
    for (campaign_id, kind), n in gw.hubs.subscribers().items():
        feeds.add_metric([campaign_id, kind], n)
    return [orders, money, stream, lag, units, feeds]


async def _read(gw: Gateway, live: LiveCampaign) -> tuple[dict[str, int], int, int]:
    """A campaign's counters, its streams' length and the ledger's lag on them, summed over
    its keyspaces (its stock buckets'), in one trip."""
    async with gw.runtime.redis.pipeline(transaction=False) as pipe:
        for keys in live.stock.spaces.buckets:
            pipe.hgetall(keys.counters)
            pipe.xlen(keys.stream)
            pipe.xinfo_groups(keys.stream)
        results = await pipe.execute(raise_on_error=False)
    counts: dict[str, int] = {}
    length = lag = 0
    for counters, size, groups in zip(results[::3], results[1::3], results[2::3], strict=True):
        if isinstance(counters, dict):
            for name, n in counters.items():
                counts[text(name)] = counts.get(text(name), 0) + int(n)
        length += size if isinstance(size, int) else 0
        lag += _lag(groups)
    return counts, length, lag


def _lag(groups: object) -> int:
    if isinstance(groups, ResponseError) or not isinstance(groups, list):
        return 0
    for group in groups:
        if text(group["name"]) == GROUP:
            return int(group.get("lag") or 0) + int(group.get("pending") or 0)
    return 0


async def metrics(request: Request) -> Response:
    gw = gateway(request)
    gw.require_ops(request)
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Snapshot(await _campaign_families(gw)))
    body = generate_latest(REGISTRY) + generate_latest(scrape)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


routes = [Route("/metrics", metrics, methods=["GET"])]
