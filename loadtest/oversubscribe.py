"""Oversubscribe a running liveroom from outside, through its public API only.

Uploads a throwaway campaign (a fresh id, N units, the canonical rules) with the ops
token, logs in many viewers, fires `factor` x N single-unit order attempts at once in
the modes open now, then checks: accepted == units the pools could give, every excess
attempt a 409 sold_out or limit_reached, no 5xx, and the stock endpoint adds up.

    python -m loadtest.oversubscribe --base http://127.0.0.1:8000 --units 500 --factor 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections import Counter
from importlib import resources
from typing import Any

import aiohttp


def _campaign(campaign_id: str, units: int) -> str:
    text = resources.files("server").joinpath("campaigns", "mid-autumn.toml").read_text("utf-8")
    text = text.replace('id = "mid-autumn"', f'id = "{campaign_id}"')
    return text.replace("total_units = 10000", f"total_units = {units}")


async def _attempt(
    client: aiohttp.ClientSession, url: str, token: str, mode: str
) -> tuple[int, str]:
    body: dict[str, object] = {"mode": mode, "qty": 1}
    if mode == "group":
        body["open_group"] = True
    async with client.post(url, json=body, headers={"Authorization": f"Bearer {token}"}) as r:
        answer = await r.json()
        return r.status, answer.get("error") or "accepted"


async def run(base: str, units: int, factor: int, ops_token: str, concurrency: int) -> int:
    campaign_id = f"oversell-{uuid.uuid4().hex[:8]}"
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base, connector=connector) as client:
        ops = {"Authorization": f"Bearer {ops_token}"}
        text = _campaign(campaign_id, units)
        async with client.put(f"/api/v1/ops/campaigns/{campaign_id}", data=text, headers=ops) as r:
            r.raise_for_status()
            campaign = await r.json()
        modes = campaign["open_modes"]
        if not modes:
            print(f"no mode is open at campaign time {campaign['now']}", file=sys.stderr)
            return 2
        stock_url = f"/api/v1/campaigns/{campaign_id}/stock"
        before = await _get(client, stock_url)
        # Enough viewers that per-user limits never bind: the pools are what must run out.
        viewers = units * factor // 4 + 1
        tokens = await asyncio.gather(
            *(_login(client, f"{campaign_id}-v{i}") for i in range(viewers))
        )
        url = f"/api/v1/campaigns/{campaign_id}/orders"
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> tuple[int, str, str]:
            mode = modes[i % len(modes)]
            async with gate:
                status, code = await _attempt(client, url, tokens[i % viewers], mode)
            return status, code, mode

        started = time.perf_counter()
        results = await asyncio.gather(*(one(i) for i in range(units * factor)))
        elapsed = time.perf_counter() - started
        after = await _get(client, stock_url)
    return _verdict(campaign_id, before, after, results, elapsed)


async def _get(client: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with client.get(url) as r:
        r.raise_for_status()
        body: dict[str, Any] = await r.json()
        return body


async def _login(client: aiohttp.ClientSession, user_id: str) -> str:
    async with client.post("/api/v1/sessions", json={"user_id": user_id}) as r:
        r.raise_for_status()
        token: str = (await r.json())["token"]
        return token


def _verdict(
    campaign_id: str,
    before: dict[str, Any],
    after: dict[str, Any],
    results: list[tuple[int, str, str]],
    elapsed: float,
) -> int:
    outcomes = Counter((status, code) for status, code, _ in results)
    accepted = sum(n for (status, _), n in outcomes.items() if status == 201)
    held = sum(p["reserved"] + p["sold"] for p in after["pools"].values())
    problems = []
    if any(status >= 500 for status, _ in outcomes):
        problems.append("5xx answers")
    if set(outcomes) - {(201, "accepted"), (409, "sold_out"), (409, "limit_reached")}:
        problems.append(f"unexpected answers: {outcomes}")
    if accepted != held:
        problems.append(f"accepted {accepted} but pools hold {held}")
    if after["remaining"] + held != before["total"]:
        problems.append("units do not add up: remaining + held != total")
    print(
        f"campaign {campaign_id}: {len(results)} attempts in {elapsed:.1f}s "
        f"({len(results) / elapsed:.0f}/s)"
    )
    for (status, code), n in sorted(outcomes.items()):
        print(f"  {status} {code}: {n}")
    print(
        "  pools: "
        + ", ".join(
            f"{name} {p['quota']} -> remaining {p['remaining']}, held {p['reserved'] + p['sold']}, "
            f"borrowed {p['borrowed']}"
            for name, p in after["pools"].items()
        )
    )
    print("verdict: " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)))
    return 0 if not problems else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--factor", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument(
        "--ops-token", default=os.environ.get("LIVEROOM_OPS_TOKEN", "demo-ops-token-change-me")
    )
    args = parser.parse_args()
    if not 1 <= args.units <= 100_000 or not 1 <= args.factor <= 100:
        parser.error("--units must be 1-100000 and --factor 1-100")
    return asyncio.run(run(args.base, args.units, args.factor, args.ops_token, args.concurrency))


if __name__ == "__main__":
    raise SystemExit(main())
