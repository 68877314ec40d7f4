"""Attribution analysis: how the three modes feed each other, and where buyers came from.

Words, fixed here once (the SQL in ledger/attribution_queries.py counts by them):
- a *channel* is the kind of share link: a distributor's (`ref:D…`), a community's
  (`ref:C…`), a material a distributor shared (`material:…`, domain/materials.py), a
  group's invite (`group:…`), or none (`direct`: the live room opened plainly);
- an order's funnel source is its buyer's *last touch* when it was placed; its GMV source is
  the *first touch* (who brought the buyer at all);
- a *depositor* paid a presale deposit; a *group buyer* paid a group order (the depositors'
  exclusive group is one); a *distributor-brought* buyer's order touched a distributor link;
- *sign-ups* (团购意向) are viewers who opened or joined a group (an order placed in a group,
  paid or not); an *active distributor* has at least one paid order through their link;
- GMV is what was paid less what was refunded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CHANNELS = ("distributor", "community", "material", "invite", "direct")


def channel_of(source: str | None) -> str:
    """The channel of a touch ("ref:D…", "ref:C…", "material:…", "group:…"), or "direct"
    for none."""
    if source is None:
        return "direct"
    if source.startswith("ref:D"):
        return "distributor"
    if source.startswith("ref:C"):
        return "community"
    if source.startswith("material:"):
        return "material"
    if source.startswith("group:"):
        return "invite"
    return "direct"


def rate(part: int, whole: int) -> float:
    """part / whole as a fraction (0 when there is no whole), to 4 places."""
    return round(part / whole, 4) if whole else 0.0


@dataclass(frozen=True)
class Funnel:
    """One source's (or channel's) way from a view to a paid balance."""

    source: str
    views: int  # viewers who opened the live room through it (once a viewer and day)
    orders: int  # orders placed with it as the buyer's last touch
    paid: int  # of those, orders with money paid
    balance_paid: int  # of those, presale orders whose balance is paid too

    @property
    def order_rate(self) -> float:
        return rate(self.orders, self.views)

    @property
    def paid_rate(self) -> float:
        return rate(self.paid, self.orders)


@dataclass(frozen=True)
class Overlap:
    depositors: int
    depositors_in_groups: int  # depositors who also paid a group order
    group_buyers: int
    group_buyers_via_distributors: int  # whose group order touched a distributor link
    direct_buyers: int
    in_all_three: int

    @property
    def depositors_in_groups_rate(self) -> float:
        return rate(self.depositors_in_groups, self.depositors)

    @property
    def group_via_distributors_rate(self) -> float:
        return rate(self.group_buyers_via_distributors, self.group_buyers)


@dataclass(frozen=True)
class Groups:
    opened: int  # every group ever opened (its first order placed)
    formed: int
    failed: int
    sizes: Mapping[int, int]  # formed groups by their paid members
    sign_ups: int  # 团购意向: viewers who opened or joined a group

    @property
    def formation_rate(self) -> float:
        """Formed among the groups that closed."""
        return rate(self.formed, self.formed + self.failed)


@dataclass(frozen=True)
class Distributors:
    recruited: int
    active: int  # with at least one paid order through their link
    tree_depth: int  # the longest upline chain (1: nobody recruited under anyone)

    @property
    def active_rate(self) -> float:
        return rate(self.active, self.recruited)


@dataclass(frozen=True)
class Report:
    campaign_id: str
    overlap: Overlap
    channels: list[Funnel]  # one per channel, in CHANNELS order
    sources: list[Funnel]  # each distributor, community and invite, most orders first
    groups: Groups
    distributors: Distributors
    gmv_by_mode: Mapping[str, int]
    gmv_by_first_touch: Mapping[str, int]  # by channel

    @property
    def gmv_fen(self) -> int:
        return sum(self.gmv_by_mode.values())


def as_dict(report: Report) -> dict[str, Any]:
    """The report with its rates, as the API answers it."""
    o, g, d = report.overlap, report.groups, report.distributors

    def funnel(f: Funnel) -> dict[str, Any]:
        return {
            "source": f.source,
            "views": f.views,
            "orders": f.orders,
            "paid": f.paid,
            "balance_paid": f.balance_paid,
            "order_rate": f.order_rate,
            "paid_rate": f.paid_rate,
        }

    return {
        "campaign_id": report.campaign_id,
        "overlap": {
            "depositors": o.depositors,
            "depositors_in_groups": o.depositors_in_groups,
            "depositors_in_groups_rate": o.depositors_in_groups_rate,
            "group_buyers": o.group_buyers,
            "group_buyers_via_distributors": o.group_buyers_via_distributors,
            "group_via_distributors_rate": o.group_via_distributors_rate,
            "direct_buyers": o.direct_buyers,
            "in_all_three": o.in_all_three,
        },
        "channels": [funnel(f) for f in report.channels],
        "sources": [funnel(f) for f in report.sources],
        "groups": {
            "opened": g.opened,
            "formed": g.formed,
            "failed": g.failed,
            "formation_rate": g.formation_rate,
            "sizes": [{"paid_members": size, "groups": n} for size, n in sorted(g.sizes.items())],
            "sign_ups": g.sign_ups,
        },
        "distributors": {
            "recruited": d.recruited,
            "active": d.active,
            "active_rate": d.active_rate,
            "tree_depth": d.tree_depth,
        },
        "gmv_fen": report.gmv_fen,
        "gmv_by_mode": dict(report.gmv_by_mode),
        "gmv_by_first_touch": dict(report.gmv_by_first_touch),
    }
