"""The big screen's snapshot, assembled from raw Redis values (pure: no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.feeds.screen_facts import low_pools


@dataclass
class Raw:
    """What one read of Redis returns for a campaign."""

    version: int  # entries ever added to the campaign's order stream: the data's version
    counters: dict[str, int]
    pools: dict[str, dict[str, int]]
    leading_groups: list[tuple[str, int]]
    top_distributors: list[tuple[str, int]]
    recruited: int
    recruited_last_10_min: int
    notified: int = 0
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_id: str = "0-0"  # the order stream's newest entry: the hub waits for one past it
    notice: dict[str, Any] | None = None  # the latest notice to the live rooms, if any
    paused: list[str] = field(default_factory=list)  # modes ops paused
    viewers: int = 0  # live-room feeds open now, over every gateway
    recent: list[dict[str, Any]] = field(default_factory=list)  # the newest orders, masked
    target_fen: int = 0  # the GMV ops aim for (0: none set)
    kaiqiang_at_ms: int | None = None  # when the host says 开抢 (campaign ms), if ops set it
    returned: list[str] = field(default_factory=list)  # pools whose units moved to another
    labels: dict[str, str] = field(default_factory=dict)  # leaderboard: code -> what it shows


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def dashboard(raw: Raw, orders_per_s: float) -> dict[str, Any]:
    c = raw.counters
    formed, failed, opened = (
        c.get("groups.formed", 0),
        c.get("groups.failed", 0),
        c.get("groups.opened", 0),
    )
    accepted = c.get("orders.accepted", 0)
    return {
        "deposits": {
            "placed": c.get("orders.presale", 0),
            "paid": c.get("payments.deposit", 0),
            "payment_rate": _rate(c.get("payments.deposit", 0), c.get("orders.presale", 0)),
        },
        "balances_paid": c.get("payments.balance", 0),
        "groups": {
            "open": opened - formed - failed,
            "formed": formed,
            "failed": failed,
            "average_size": round(c.get("groups.formed_members", 0) / formed, 1) if formed else 0,
            "leading": [{"code": code, "members": n} for code, n in raw.leading_groups],
        },
        "distributors": {
            "recruited": raw.recruited,
            "last_10_min": raw.recruited_last_10_min,
            "top": [
                {"code": code, "name": raw.labels.get(code), "units": n}
                for code, n in raw.top_distributors
            ],
        },
        "orders": {
            "accepted": accepted,
            "per_second": round(orders_per_s, 1),
            "via_distributor_share": _rate(c.get("orders.via_distributor", 0), accepted),
            "sold_out_refusals": c.get("refused.sold_out", 0),
        },
        "gmv_paid_fen": c.get("gmv.paid_fen", 0),
        "refunds_fen": c.get("refunds.fen", 0),
        "stock": stock(raw),
        "depositors": {"notified": raw.notified, "converted": c.get("depositors.converted", 0)},
        "notice": raw.notice,
        "paused": raw.paused,
        "viewers": raw.viewers,
        "funnel": funnel(raw),
        "aov_fen": _average(c.get("gmv.paid_fen", 0), _paid_orders(c)),
        "target_fen": raw.target_fen,
        "kaiqiang_at_ms": raw.kaiqiang_at_ms,
        "recent": raw.recent,
    }


def _paid_orders(c: dict[str, int]) -> int:
    return c.get("payments.deposit", 0) + c.get("payments.full", 0)


def _average(total: int, count: int) -> int:
    return total // count if count else 0


def funnel(raw: Raw) -> list[dict[str, Any]]:
    """Live-room viewers now -> orders -> paid (deposit or in full) -> balance paid."""
    c = raw.counters
    return [
        {"stage": "viewers", "n": raw.viewers},
        {"stage": "orders", "n": c.get("orders.accepted", 0)},
        {"stage": "paid", "n": _paid_orders(c)},
        {"stage": "balance", "n": c.get("payments.balance", 0)},
    ]


def stock(raw: Raw) -> dict[str, Any]:
    pools = {
        name: {k: p.get(k, 0) for k in ("quota", "remaining", "reserved", "sold", "borrowed")}
        for name, p in raw.pools.items()
    }
    return {
        "total": sum(p["quota"] for p in pools.values()),
        "remaining": sum(p["remaining"] for p in pools.values()),
        "pools": pools,
        "low": low_pools(pools, set(raw.returned)),
    }


def live(raw: Raw) -> dict[str, Any]:
    """What every viewer may see: stock left, the groups someone is watching, and the latest
    notice (a viewer who opens the page after it still sees the banner)."""
    return {"stock": stock(raw), "groups": raw.groups, "notice": raw.notice, "paused": raw.paused}
