"""The 开抢 rehearsal tool itself: against a real server it ends in PASS with every figure
filled in, and its verdict names oversell, undersell and lost orders when they happen."""

from __future__ import annotations

from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from loadtest.client import Client
from loadtest.spike import Attempt, Feed, run, spike_campaign, verdict
from tests.conftest import OPS_TOKEN, PAYMENT_SECRET
from tests.integration.conftest import Serve


async def test_a_small_spike_against_a_real_server_passes(serve_with_ledger: Serve) -> None:
    async with (
        serve_with_ledger() as s,
        aiohttp.ClientSession(s.base_url) as session,
    ):
        client = Client(session, OPS_TOKEN, PAYMENT_SECRET)
        before = _samples((await s.client.get("/metrics", headers=s.ops)).text)
        result = await run(client, [s.base_url], units=60, factor=4, concurrency=32, settle_s=30)
        assert (await s.client.get("/no/such/page/x7")).status_code == 404
        scraped = await s.client.get("/metrics", headers=s.ops)
        refused = await s.client.get("/metrics")
    assert refused.status_code == 401
    assert scraped.headers["content-type"].startswith("text/plain")
    samples = _samples(scraped.text)

    def grew(name: str, *labels: tuple[str, str]) -> float:
        """What the spike added to a process-wide series (the test server runs in-process)."""
        key = (name, tuple(sorted(labels)))
        return samples.get(key, 0.0) - before.get(key, 0.0)

    orders = (("endpoint", "/api/v1/campaigns/{cid}/orders"), ("method", "POST"))
    assert grew("liveroom_request_seconds_count", *orders, ("status", "2xx")) == result["accepted"]
    refusals = result["attempts"] - result["accepted"]
    assert grew("liveroom_request_seconds_count", *orders, ("status", "4xx")) == refusals
    # every order was answered by Redis or, once the stock messages said so, by the flag
    placed = grew("liveroom_orders_per_reserve_call_sum")
    assert placed + grew("liveroom_sold_out_by_flag_total") == result["attempts"]
    calls = grew("liveroom_redis_round_trips_total", ("purpose", "reserve"))
    assert calls == grew("liveroom_orders_per_reserve_call_count") and 0 < calls <= placed
    assert grew("liveroom_feed_lag_seconds_count") > 0  # the rehearsal's feed saw orders
    # every other request by its route's template; a path no route knows is not a label
    assert grew("liveroom_request_seconds_count", *_get("/metrics", "2xx")) >= 1
    assert grew("liveroom_request_seconds_count", *_get("unmatched", "4xx")) == 1
    spike = (("campaign", result["campaign_id"]),)
    assert (
        samples[("liveroom_orders_total", (*spike, ("outcome", "accepted")))] == result["accepted"]
    )
    assert samples[("liveroom_stream_entries", spike)] >= 0
    assert samples[("liveroom_ledger_lag_entries", spike)] == 0  # all in the ledger
    assert samples[("liveroom_reconcile_problems", spike)] == 0  # the rehearsal reconciled
    assert result["verdict"] == "PASS", result["problems"]
    assert result["attempts"] == 240
    assert 0 < result["accepted"] == result["pools_gave"] == result["ledger_orders"] < 240
    assert set(result["answers"]) == {"201 accepted", "409 sold_out"}
    assert result["latency_ms"]["accepted"]["n"] == result["accepted"]
    assert result["feed_lag_ms"] is not None and "clean" in result["reconcile"]


def _get(endpoint: str, status: str) -> tuple[tuple[str, str], ...]:
    return (("endpoint", endpoint), ("method", "GET"), ("status", status))


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _stock(distribution: tuple[int, int]) -> dict[str, Any]:
    """A 10-unit spike campaign's stock after a spike: only direct (distribution) sold."""
    remaining, reserved = distribution
    pools = {
        "presale": {"remaining": 2, "reserved": 0, "sold": 0},
        "group": {"remaining": 5, "reserved": 0, "sold": 0},
        "distribution": {"remaining": remaining, "reserved": reserved, "sold": 0},
    }
    return {"total": 10, "remaining": 7 + remaining, "pools": pools}


def _attempts(accepted: int, sold_out: int) -> list[Attempt]:
    won = [Attempt("direct", 201, "accepted", f"c.{i + 1}", 5.0, 1.0) for i in range(accepted)]
    return won + [Attempt("direct", 409, "sold_out", None, 2.0, 1.0) for _ in range(sold_out)]


def _judge(after: dict[str, Any], attempts: list[Attempt], ledger: list[str]) -> list[str]:
    text = spike_campaign("c", 10)
    clean = {"clean": True, "summary": "clean"}
    result = verdict(text, "c", _stock((3, 0)), after, attempts, 1.0, 0.0, [], ledger, clean)
    problems: list[str] = result["problems"]
    return problems


def test_the_verdict_names_what_went_wrong() -> None:
    honest = _attempts(3, 5)
    ids = [a.order_id for a in honest if a.order_id]
    assert _judge(_stock((0, 3)), honest, ids) == []

    oversold = _attempts(4, 4)  # four accepted, the pools gave three
    problems = _judge(_stock((0, 3)), oversold, [a.order_id for a in oversold if a.order_id])
    assert any(p.startswith("oversell") for p in problems)

    undersold = _attempts(1, 7)  # refused sold_out with two units still there
    problems = _judge(_stock((2, 1)), undersold, ["c.1"])
    assert any(p.startswith("undersell") for p in problems)

    assert _judge(_stock((0, 3)), honest, ids[:2]) == ["ledger: 1 lost, 0 phantom, 0 dup"]


def test_the_verdict_names_a_gateway_whose_feed_fell_behind() -> None:
    honest = _attempts(3, 5)
    ids = [a.order_id for a in honest if a.order_id]

    def judge(*seen: list[tuple[float, int, int]]) -> dict[str, Any]:
        feeds = [Feed(list(snapshots)) for snapshots in seen]
        text, clean = spike_campaign("c", 10), {"clean": True, "summary": "clean"}
        before, after = _stock((3, 0)), _stock((0, 3))
        return verdict(text, "c", before, after, honest, 1.0, 0.0, feeds, ids, clean)

    moving = [(1.0, 10, 1), (1.5, 7, 4)]  # ends showing the final stock, 7 remaining
    result = judge(moving, moving)
    assert result["problems"] == [] and result["gateways"] == 2
    assert result["feed_lag_ms"] == 500.0  # the slowest feed: 1.5 s against the last order's 1.0
    behind = judge(moving, [(1.0, 10, 1), (1.2, 9, 2)])  # never showed the final stock
    standing = judge(moving, [(1.0, 7, 4), (1.6, 7, 4)])  # the right stock, but seq stood
    for result in (behind, standing):
        assert [p for p in result["problems"] if p.startswith("feeds:")], result["problems"]


async def test_a_spike_on_a_campaign_split_into_three_stock_buckets_passes(
    serve_with_ledger: Serve,
) -> None:
    """The same rehearsal with the stock in three buckets (on the cluster, three shards):
    every unit sold once, none left while a buyer was refused, the ledger and the feeds
    whole, reconcile clean over the buckets."""
    async with (
        serve_with_ledger() as s,
        aiohttp.ClientSession(s.base_url) as session,
    ):
        client = Client(session, OPS_TOKEN, PAYMENT_SECRET)
        result = await run(
            client, [s.base_url], units=90, factor=4, concurrency=32, settle_s=30, buckets=3
        )
        stock = (await s.client.get(f"/api/v1/campaigns/{result['campaign_id']}/stock")).json()
    assert result["verdict"] == "PASS", result["problems"]
    assert 0 < result["accepted"] == result["pools_gave"] == result["ledger_orders"] < 360
    assert "clean" in result["reconcile"]
    assert stock["total"] == 90
    assert len(result["order_keyspaces"]) == 3  # every bucket placed orders
