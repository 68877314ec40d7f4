"""Hot state and configuration turned into the response shapes of schemas.py."""

from __future__ import annotations

from datetime import datetime
from functools import cache, lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from server.domain.campaign import Campaign
from server.domain.phases import balance_window_open, open_modes, phase
from server.domain.pricing import next_tier, reached_tier
from server.domain.privacy import mask_user
from server.gateway.schemas import (
    AfterSaleDecisionOut,
    CampaignOut,
    GroupOut,
    OrderOut,
    PaymentOut,
    PoolClassOut,
    PoolOut,
    ShipmentOut,
    StockOut,
)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=4096)
def local_iso(ms: int, timezone: str) -> str:
    # Remembered: an order's created_at is its history's first time, and the ~20 orders a
    # batch reserves share it, so a spike formats each instant once, not three times per order.
    return datetime.fromtimestamp(ms / 1000, tz=_zone(timezone)).isoformat()


def order_view(order: dict[str, Any], timezone: str) -> OrderOut:
    return {
        "order_id": order["id"],
        "campaign_id": order["campaign_id"],
        "status": order["status"],
        "mode": order["mode"],
        "qty": order["qty"],
        "unit_price_fen": order["unit_price_fen"],
        "amount_due_fen": order["amount_due_fen"],
        "paid_fen": order["paid_fen"],
        "refunded_fen": order["refunded_fen"],
        "pay_before": local_iso(order["pay_before_ms"], timezone),
        "created_at": local_iso(order["created_at_ms"], timezone),
        "group_code": order["group_code"] or None,
        "ref": order["ref"] or None,
        "warehouse": order.get("warehouse"),
        "address_id": order.get("address_id"),
        "route": [{"warehouse": w, "units": u} for w, u in order["route"]]
        if order.get("route")
        else None,
        "shipment": _shipment_view(order, timezone),
        "after_sale": {
            "open": bool(order.get("aftersale_open")),
            "refunded_fen": int(order.get("aftersale_fen", 0)),
            "units": int(order.get("aftersale_units", 0)),
            "last": _decision_view(order.get("aftersale_last"), timezone),
        },
        "history": [{"status": s, "at": local_iso(at, timezone)} for s, at in order["history"]],
    }


def _decision_view(last: dict[str, Any] | None, timezone: str) -> AfterSaleDecisionOut | None:
    if not last:
        return None
    verdict: Literal["approved", "rejected"] = (
        "approved" if last["verdict"] == "approve" else "rejected"
    )
    return {"verdict": verdict, "reason": last["reason"], "at": local_iso(last["at"], timezone)}


def _shipment_view(order: dict[str, Any], timezone: str) -> ShipmentOut | None:
    shipment, latest = order.get("shipment"), order.get("logistics")
    if not shipment:
        return None
    return {
        "carrier": shipment["carrier"],
        "tracking_no": shipment["tracking_no"],
        "shipped_at": local_iso(shipment["at"], timezone),
        "latest": {
            "status": latest["status"],
            "at": local_iso(latest["at"], timezone),
            "text": latest["text"],
        }
        if latest
        else None,
    }


def payment_view(payment: dict[str, Any]) -> PaymentOut:
    return {
        "payment_id": payment["id"],
        "order_id": payment["order_id"],
        "stage": payment["stage"],
        "amount_fen": payment["amount_fen"],
        "status": payment["status"],
        "provider": payment.get("provider", "sandbox"),
    }


def group_view(campaign: Campaign, group: dict[str, Any]) -> GroupOut:
    tier = reached_tier(campaign, group["paid"])
    following = next_tier(campaign, group["paid"])
    return {
        "code": group["code"],
        "campaign_id": campaign.id,
        "status": group["status"],
        "leader": mask_user(group["leader"]),  # public: who leads is not everyone's business
        "members": group["members"],
        "paid": group["paid"],
        "capacity": group["capacity"],
        "expires_at": local_iso(group["expires_at_ms"], campaign.timezone),
        "tier_min_members": tier.min_members if tier else None,
        "price_fen": tier.price_fen if tier else campaign.group_rules.tiers[0].price_fen,
        "next_tier_min_members": following.min_members if following else None,
        "next_tier_price_fen": following.price_fen if following else None,
        "invite_link": f"/live/{campaign.id}?group={group['code']}",
    }


def stock_view(
    campaign: Campaign, counters: dict[str, dict[str, int]], returned: dict[str, str]
) -> StockOut:
    pools: dict[str, PoolOut] = {}
    for pool in campaign.stock.pools:
        c = counters.get(pool.name, {})
        pools[pool.name] = {
            "kind": pool.kind,
            "modes": list(pool.modes),
            "quota": c.get("quota", 0),
            "remaining": c.get("remaining", 0),
            "reserved": c.get("reserved", 0),
            "sold": c.get("sold", 0),
            "borrowed": c.get("borrowed", 0),
            "lent": c.get("lent", 0),
            "moved_in": c.get("moved_in", 0),
            "moved_out": c.get("moved_out", 0),
            "returned_to": returned.get(pool.name),
        }
    return {
        "campaign_id": campaign.id,
        "total": sum(p["quota"] for p in pools.values()),
        "remaining": sum(p["remaining"] for p in pools.values()),
        "reserve": _pool_class(pools, "reserve"),
        "shared": _pool_class(pools, "shared"),
        "pools": pools,
    }


def _pool_class(pools: dict[str, PoolOut], kind: str) -> PoolClassOut:
    names = [name for name, p in pools.items() if p["kind"] == kind]
    return {"units": sum(pools[n]["quota"] for n in names), "pools": names}


def campaign_view(campaign: Campaign, version: int, now: datetime) -> CampaignOut:
    return {
        **campaign.model_dump(mode="json", by_alias=True),
        "version": version,
        "now": now.astimezone(_zone(campaign.timezone)).isoformat(),
        "phase": phase(campaign, now),
        "open_modes": open_modes(campaign, now),
        "balance_window_open": balance_window_open(campaign, now),
    }
