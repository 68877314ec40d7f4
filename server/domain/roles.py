"""Who in the ops team may do what: roles and the permissions each holds (plain data; the
console and the API check them the same way)."""

from __future__ import annotations

from typing import Literal

Role = Literal["admin", "operator", "finance", "screen"]
ROLES: tuple[Role, ...] = ("admin", "operator", "finance", "screen")

Permission = Literal[
    "campaign.view",
    "campaign.edit",
    "desk.act",
    "orders.view",
    "orders.refund",
    "orders.fulfil",
    "addresses.view",
    "warehouses.view",
    "warehouses.route",
    "distributors.view",
    "distributors.approve",
    "payouts.decide",
    "refunds.send_again",
    "members.edit",
    "materials.moderate",
    "finance.view",
    "reconcile.run",
    "audit.view",
    "screens.manage",
    "screen.watch",
    "users.manage",
]

_WHO: dict[Permission, frozenset[Role]] = {
    "campaign.view": frozenset({"admin", "operator", "finance"}),
    "campaign.edit": frozenset({"admin", "operator"}),
    "desk.act": frozenset({"admin", "operator"}),
    "orders.view": frozenset({"admin", "operator", "finance"}),
    "orders.refund": frozenset({"admin", "operator"}),
    "orders.fulfil": frozenset({"admin", "operator"}),
    "addresses.view": frozenset({"admin", "operator"}),  # whole phones and streets
    "warehouses.view": frozenset({"admin", "operator", "finance"}),
    "warehouses.route": frozenset({"admin", "operator"}),
    "distributors.view": frozenset({"admin", "operator", "finance"}),
    "distributors.approve": frozenset({"admin", "operator"}),
    "payouts.decide": frozenset({"admin", "finance"}),
    # a booked refund the provider refused, sent again once finance fixed the cause
    "refunds.send_again": frozenset({"admin", "finance"}),
    "members.edit": frozenset({"admin", "operator"}),
    "materials.moderate": frozenset({"admin", "operator"}),  # 晒单 and the material library
    "finance.view": frozenset({"admin", "finance"}),
    "reconcile.run": frozenset({"admin", "finance"}),
    "audit.view": frozenset({"admin", "finance"}),
    "screens.manage": frozenset({"admin", "operator"}),
    "screen.watch": frozenset(ROLES),
    "users.manage": frozenset({"admin"}),
}


def allowed(role: str, permission: Permission) -> bool:
    return role in _WHO[permission]


def permissions_of(role: str) -> frozenset[Permission]:
    return frozenset(p for p, roles in _WHO.items() if role in roles)
