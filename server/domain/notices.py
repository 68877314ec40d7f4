"""Notices to one viewer: which are due on the campaign clock, and whether one may be pushed.

Every notice comes from a fact of the ledger or the hot state (a deposit awaiting its
balance, a group that formed, a parcel that left) and carries a key the same fact always
gives, so planning it again on every pass, or after a crash, plans it once. Pure: the
worker's notifier (server/notify) gathers the facts, renders the text and delivers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Category = Literal["promotion", "service"]
Delivery = Literal["push", "inbox", "skip"]

# Promotions are what a viewer may turn off and what the per-hour rate caps; service notices
# are about the viewer's own money and parcels and always go out.
CATEGORY: Mapping[str, Category] = {
    "depositor_offer": "promotion",
    "balance_reminder": "promotion",
    "group_short": "promotion",
    "group_formed": "service",
    "group_failed": "service",
    "shipped": "service",
    "delivered": "service",
}

HOUR_MS = 3_600_000

Param = tuple[str, str | int]


@dataclass(frozen=True)
class Notice:
    key: str  # unique within its campaign: the fact it tells, never the time it was planned
    user: str
    kind: str
    params: tuple[Param, ...] = ()

    @property
    def category(self) -> Category:
        return CATEGORY[self.kind]


# -- the facts each kind of notice is planned from ---------------------------------------


@dataclass(frozen=True)
class AwaitingBalance:
    order_id: str
    user: str


@dataclass(frozen=True)
class FormingGroup:
    code: str
    missing: int  # paid members still needed to form
    members: tuple[str, ...]  # users with a paid order in it


@dataclass(frozen=True)
class GroupOutcome:
    order_id: str
    user: str
    code: str
    formed: bool
    price_fen: int  # formed: the unit price the group reached; failed: 0
    refund_fen: int  # formed: the difference refunded; failed: all that was paid


@dataclass(frozen=True)
class Parcel:
    order_id: str
    user: str
    carrier: str
    tracking_no: str
    delivered: bool


def depositor_offer(depositors: Iterable[str], price_fen: int, balance_fen: int) -> list[Notice]:
    params: tuple[Param, ...] = (("price_fen", price_fen), ("balance_fen", balance_fen))
    return [Notice(f"offer:{user}", user, "depositor_offer", params) for user in depositors]


def balance_reminders(
    hours_before: Sequence[int],
    closes_ms: int,
    now_ms: int,
    awaiting: Iterable[AwaitingBalance],
    deposit_rate_pct: int,
) -> list[Notice]:
    """The latest reminder whose time has come, for each deposit still awaiting its balance
    (`reminder_due` says which, so the facts are read only then)."""
    hours = reminder_due(hours_before, closes_ms, now_ms)
    if hours is None:
        return []
    params: tuple[Param, ...] = (("hours", hours), ("rate_pct", deposit_rate_pct))
    return [
        Notice(f"balance:{a.order_id}:{hours}", a.user, "balance_reminder", params)
        for a in awaiting
    ]


def reminder_due(hours_before: Sequence[int], closes_ms: int, now_ms: int) -> int | None:
    """The reminder (hours before the close) due now. One whose time passed while a later
    one is due is not sent late: the later says more."""
    due = [h for h in hours_before if closes_ms - h * HOUR_MS <= now_ms < closes_ms]
    return min(due) if due else None


def group_short(at_most_missing: int, groups: Iterable[FormingGroup]) -> list[Notice]:
    """ "还差 N 人成团" to each paid member, once for each headcount still missing."""
    found = []
    for group in groups:
        if 0 < group.missing <= at_most_missing:
            for user in dict.fromkeys(group.members):
                key = f"group_short:{group.code}:{group.missing}:{user}"
                params: tuple[Param, ...] = (("missing", group.missing), ("code", group.code))
                found.append(Notice(key, user, "group_short", params))
    return found


def group_outcomes(outcomes: Iterable[GroupOutcome]) -> list[Notice]:
    found = []
    for o in outcomes:
        kind = "group_formed" if o.formed else "group_failed"
        params: tuple[Param, ...] = (("price_fen", o.price_fen), ("refund_fen", o.refund_fen))
        found.append(Notice(f"{kind}:{o.order_id}", o.user, kind, params))
    return found


def parcels(found: Iterable[Parcel]) -> list[Notice]:
    """A parcel on its way, then delivered; one already delivered when first seen is told
    only that (a "shipped" after it would be news from the past)."""
    notices = []
    for p in found:
        kind = "delivered" if p.delivered else "shipped"
        params: tuple[Param, ...] = (("carrier", p.carrier), ("tracking_no", p.tracking_no))
        notices.append(Notice(f"{kind}:{p.order_id}", p.user, kind, params))
    return notices


# -- whether each may go out ---------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    notice: Notice
    delivery: Delivery  # push: inbox and channel; inbox: kept, not pushed; skip: neither
    reason: str = ""  # why not pushed: "opted_out" | "rate"


def decide(
    notices: Iterable[Notice],
    opted_out: Iterable[str],
    pushed_last_hour: Mapping[str, int],
    promotions_per_hour: int,
) -> list[Decision]:
    """In order: service notices always push; a promotion to a viewer who turned them off is
    skipped; past the viewer's hourly rate (counting the pushes decided here) it is kept in
    the inbox without a push."""
    out = set(opted_out)
    pushed = dict(pushed_last_hour)
    decisions = []
    for notice in notices:
        if notice.category == "service":
            decisions.append(Decision(notice, "push"))
        elif notice.user in out:
            decisions.append(Decision(notice, "skip", "opted_out"))
        elif pushed.get(notice.user, 0) >= promotions_per_hour:
            decisions.append(Decision(notice, "inbox", "rate"))
        else:
            pushed[notice.user] = pushed.get(notice.user, 0) + 1
            decisions.append(Decision(notice, "push"))
    return decisions
