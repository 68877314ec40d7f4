"""What the big screen shows beyond counters, from the campaign's rules and raw values
(pure: no I/O): the next moments to count down to, a group's way to its next tier, pools
running low, buyers masked for a wall everyone can read (server/domain/privacy.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.domain.campaign import Campaign
from server.domain.privacy import mask_user
from server.domain.regions import region_of

LOW_STOCK = 0.1  # a pool with less than a tenth of its units left is on alert
MOMENTS_SHOWN = 2


def next_moments(campaign: Campaign, now: datetime) -> list[dict[str, Any]]:
    """The next windows to open or close (what 开始/结束 the screen counts down to)."""
    moments: list[tuple[datetime, str, str]] = []
    for mode in campaign.modes:
        window = campaign.window(mode)
        moments += [(window.opens_at, mode, "opens"), (window.closes_at, mode, "closes")]
    if campaign.presale is not None:
        moments.append((campaign.presale.balance_opens_at, "balance", "opens"))
    ahead = sorted(m for m in moments if m[0] > now)
    return [
        {"at_ms": int(at.timestamp() * 1000), "mode": mode, "edge": edge}
        for at, mode, edge in ahead[:MOMENTS_SHOWN]
    ]


def tier_progress(campaign: Campaign, members: int) -> dict[str, Any]:
    """A group's price now and what the next tier needs."""
    tiers = campaign.group.tiers if campaign.group else []
    reached = [t for t in tiers if t.min_members <= members]
    ahead = [t for t in tiers if t.min_members > members]
    return {
        "members": members,
        "price_fen": reached[-1].price_fen if reached else None,
        "next_min": ahead[0].min_members if ahead else None,
        "next_price_fen": ahead[0].price_fen if ahead else None,
    }


def low_pools(pools: dict[str, dict[str, int]], returned: set[str]) -> list[str]:
    """Pools nearly sold out (not those emptied on purpose: units moved to another pool)."""
    return sorted(
        name
        for name, p in pools.items()
        if name not in returned
        and p.get("quota", 0) > 0
        and p.get("remaining", 0) < LOW_STOCK * p["quota"]
    )


def recent_order(order: dict[str, Any], region: str = "") -> dict[str, Any]:
    """An order as the big screen's ticker shows it; `region`: where it ships, when known."""
    return {
        "buyer": mask_user(str(order.get("user", ""))),
        "place": place_of(region),
        "mode": order.get("mode"),
        "qty": order.get("qty"),
        "amount_fen": order.get("amount_due_fen"),
        "at_ms": order.get("created_at_ms"),
    }


def place_of(region: str) -> str:
    """The city an address is in ("深圳市"), or its municipality ("上海市"); "" if unknown."""
    try:
        found = region_of(region) if region else None
    except KeyError:
        return ""
    if found is None:
        return ""
    return found.names[1] if found.city else found.names[0]
