"""Where a viewer came from: each share link they open the live room through is a touch.

A source names the link: "ref:D…" (a distributor's), "ref:C…" (a community's), "material:M…"
(a material a distributor shared, domain/materials.py), "group:…" (a group's invite). A
viewer's first touch never changes; their last is the latest link opened. An order keeps
both as they were when it was placed (reserve.lua copies them), beside its commission
attribution, which stays the seed's rule: the link the order came through.

A view is the live room opened through a link; a click is an order button pressed on such a
visit. Each counts once per viewer, source and campaign day. Pure: record_visit.lua keeps
the state, the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from server.domain import materials

Kind = Literal["view", "click"]
KINDS: tuple[Kind, ...] = ("view", "click")
SEPARATOR = "\t"  # between first and last in the touches hash: no source holds it


def source_of(ref: str | None, group: str | None, material: str | None = None) -> str:
    """The source of a visit through a share link (ref), a material shared with one (ref
    and material: the material is the touch) or a group's invite (group)."""
    if (ref is None) == (group is None):
        raise ValueError("exactly one of ref and group")
    if material is not None:
        if ref is None:
            raise ValueError("a shared material comes with its sharer's ref")
        return materials.source_of(material)
    return f"ref:{ref}" if ref is not None else f"group:{group}"


def day_of(moment: datetime, zone: str) -> str:
    """The campaign day a visit counts in (its own time zone)."""
    return moment.astimezone(ZoneInfo(zone)).date().isoformat()


@dataclass
class Touches:
    """The plain model of what record_visit.lua keeps for one campaign."""

    first: dict[str, str] = field(default_factory=dict)  # user -> source
    last: dict[str, str] = field(default_factory=dict)
    seen: set[tuple[str, str, str, str]] = field(default_factory=set)  # day, kind, source, user
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (source, kind) -> n

    def visit(self, day: str, user: str, source: str, kind: Kind) -> bool:
        """Record one; whether it counted (the first of its kind that day)."""
        if kind == "view":
            self.first.setdefault(user, source)
            self.last[user] = source
        if (day, kind, source, user) in self.seen:
            return False
        self.seen.add((day, kind, source, user))
        self.counts[(source, kind)] = self.counts.get((source, kind), 0) + 1
        return True
