"""The attribution report on a large ledger: a generator fills a fresh PostgreSQL database with
one campaign of a million orders (and their views, groups, distributors and shared materials,
in the demo's proportions), then the whole report (server/ledger/attribution_queries.py) runs
several times, and so do the material library's figures (the console's 素材库 page); the
figures are the medians. The database is dropped afterwards.

    python -m loadtest.attribution_bench --orders 1000000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from server.growth.library import Library
from server.ledger.attribution_queries import report
from server.ledger.engine import create_engine
from server.ledger.migrate import upgrade

CAMPAIGN = "mid-autumn"
STATUSES = {  # mode -> (status, paid fen), weighted as a broadcast ends up
    "presale": [
        ("paid", 29800),
        ("completed", 29800),
        ("forfeited", 5000),
        ("expired", 0),
        ("awaiting_balance", 5000),
    ],
    "group": [("completed", 32800), ("shipped", 32800), ("group_failed", 32800), ("expired", 0)],
    "direct": [("completed", 36800), ("delivered", 36800), ("expired", 0), ("refunded", 36800)],
}
MODES = ["presale"] * 2 + ["group"] * 5 + ["direct"] * 3
MATERIALS = [f"M{i:016x}" for i in range(200)]  # the console's page lists up to 500
MATERIAL_SHARE = 0.35  # of the orders through a distributor, those via a shared material


def distributors(n: int, rng: random.Random) -> list[tuple[Any, ...]]:
    """A recruitment tree: each recruits under an earlier one, or under nobody."""
    rows = []
    for i in range(n):
        upline = f"D{rng.randrange(i):07d}" if i and rng.random() < 0.7 else None
        rows.append((f"D{i:07d}", "distributor", f"d{i}", upline, None, "active", 0, CAMPAIGN))
    return rows


def ledger_rows(
    orders_n: int, distributor_n: int, rng: random.Random
) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """("orders" | "link_visits" | "groups", row), a million orders' worth."""
    communities = [f"C{i:07d}" for i in range(20)]
    codes: list[str] = []
    users = max(1, orders_n * 2 // 5)
    for n in range(orders_n):
        mode = rng.choice(MODES)
        status, paid = rng.choice(STATUSES[mode])
        roll = rng.random()
        ref = None
        if roll < 0.55:
            ref = f"D{rng.randrange(distributor_n):07d}"
            last: str | None = f"ref:{ref}"
            if rng.random() < MATERIAL_SHARE:
                shared = rng.choice(MATERIALS)
                last = f"material:{shared}"
                yield "material_shares", (shared, CAMPAIGN, ref, n)
        elif roll < 0.65:
            ref = rng.choice(communities)
            last = f"ref:{ref}"
        elif roll < 0.8 and codes:
            last = f"group:{rng.choice(codes)}"
        else:
            last = None
        first = last if rng.random() < 0.8 else f"ref:{rng.choice(communities)}"
        group = None
        if mode == "group":
            if not codes or rng.random() < 0.25:
                codes.append(f"G{len(codes):07d}")
                yield "groups", (
                    CAMPAIGN, codes[-1], f"u{n % users}", rng.choice(["formed"] * 9 + ["failed"]),
                    3, rng.randint(3, 12), 3, 0, None, "{}",
                )  # fmt: skip
            group = rng.choice(codes[-50:])
        user = f"u{rng.randrange(users)}"
        refunded = 1000 if status == "refunded" else 0
        yield "orders", (
            f"{CAMPAIGN}.{n}", CAMPAIGN, user, mode, 1, status, mode, "sold", "[]",
            paid, paid, paid, refunded, group, ref, None, None, None, None, None, None,
            first, last, n, n, n, 0, "{}",
        )  # fmt: skip
        if last is not None:
            for extra in range(rng.choice([1, 1, 2])):  # the buyer's view, and a looker's
                viewer = user if not extra else f"w{n}"
                yield "link_visits", (
                    CAMPAIGN, f"{n}-{extra}", last, viewer, "view", "2026-09-06", n,
                )  # fmt: skip


ORDER_COLUMNS = (
    "order_id", "campaign_id", "user_id", "mode", "qty", "status", "pool", "held", "alloc",
    "unit_price_fen", "amount_due_fen", "paid_fen", "refunded_fen", "group_code", "ref",
    "warehouse", "address_id", "region_code", "route", "carrier", "tracking_no",
    "first_touch", "last_touch", "created_at_ms", "updated_at_ms", "stream_ms", "stream_seq",
    "snapshot",
)  # fmt: skip
COLUMNS = {
    "orders": ORDER_COLUMNS,
    "materials": (
        "material_id", "campaign_id", "kind", "author", "title", "text", "images", "status",
        "created_at_ms",
    ),
    "material_shares": ("material_id", "campaign_id", "ref", "at_ms"),
    "link_visits": ("campaign_id", "stream_id", "source", "user_id", "kind", "day", "at_ms"),
    "groups": (
        "campaign_id", "code", "leader", "status", "members", "paid", "units", "opened_at_ms",
        "closed_at_ms", "snapshot",
    ),
    "links": (
        "code", "kind", "user_id", "upline", "name", "status", "created_at_ms", "campaign_id",
    ),
}  # fmt: skip


async def fill(url: str, orders_n: int, distributor_n: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    conn = await asyncpg.connect(url)
    counts: dict[str, int] = {}
    try:
        await conn.copy_records_to_table(
            "links", records=distributors(distributor_n, rng), columns=COLUMNS["links"]
        )
        counts["links"] = distributor_n
        materials = [(m, CAMPAIGN, "post", "u0", "", "好吃", 1, "approved", 0) for m in MATERIALS]
        await conn.copy_records_to_table(
            "materials", records=materials, columns=COLUMNS["materials"]
        )
        batch: dict[str, list[tuple[Any, ...]]] = {name: [] for name in COLUMNS}
        for table, row in ledger_rows(orders_n, distributor_n, rng):
            batch[table].append(row)
            if len(batch[table]) >= 50_000:
                await _copy(conn, table, batch[table], counts)
        for table, rows in batch.items():
            await _copy(conn, table, rows, counts)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return counts


async def _copy(
    conn: asyncpg.Connection, table: str, rows: list[tuple[Any, ...]], counts: dict[str, int]
) -> None:
    if rows:
        await conn.copy_records_to_table(table, records=rows, columns=COLUMNS[table])
        counts[table] = counts.get(table, 0) + len(rows)
        rows.clear()


async def timed_reports(engine: AsyncEngine, rounds: int) -> list[float]:
    took = []
    for _ in range(rounds):
        started = time.perf_counter()
        await report(engine, CAMPAIGN)
        took.append(time.perf_counter() - started)
    return took


async def timed_figures(engine: AsyncEngine, rounds: int) -> list[float]:
    """The material library's figures for every material, as its console page reads them."""
    library = Library(engine)
    took = []
    for _ in range(rounds):
        started = time.perf_counter()
        found = await library.figures(CAMPAIGN, MATERIALS)
        took.append(time.perf_counter() - started)
    assert sum(f["shares"] for f in found.values()) == sum(f["orders"] for f in found.values())
    return took


async def run(admin: str, orders_n: int, rounds: int, keep: bool) -> None:
    name = f"lr_attribution_{uuid.uuid4().hex[:8]}"
    server = await asyncpg.connect(admin)
    await server.execute(f'CREATE DATABASE "{name}"')
    await server.close()
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        await upgrade(engine)
        started = time.perf_counter()
        counts = await fill(url, orders_n, max(10, orders_n // 500), seed=16)
        print(f"filled {counts} in {time.perf_counter() - started:.1f} s")
        await timed_reports(engine, 1)  # warm the cache, as a console page opened twice
        took = await timed_reports(engine, rounds)
        median = statistics.median(took)
        rounds_s = ", ".join(f"{t:.2f}" for t in took)
        print(f"the whole report on {counts['orders']:,} orders: {median:.2f} s ({rounds_s})")
        await timed_figures(engine, 1)
        took = await timed_figures(engine, rounds)
        rounds_s = ", ".join(f"{t:.3f}" for t in took)
        print(
            f"the figures of {len(MATERIALS)} materials: {statistics.median(took):.3f} s"
            f" ({rounds_s})"
        )
    finally:
        await engine.dispose()
        if not keep:
            server = await asyncpg.connect(admin)
            await server.execute(f'DROP DATABASE "{name}"')
            await server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="leave the database behind")
    args = parser.parse_args()
    asyncio.run(run(args.postgres_url, args.orders, args.rounds, args.keep))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
