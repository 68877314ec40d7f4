"""Ops on people: member tiers (one by one, or a CSV of many), and screen tokens."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from typing import Any

from server.errors import BadInput
from server.gateway.auth import USER_ID_RE
from server.gateway.context import Gateway
from server.ops.audit import Actor

MAX_IMPORT_ROWS = 10_000


def member_tiers(gw: Gateway) -> set[str]:
    return {m.id for live in gw.runtime.campaigns.values() for m in live.campaign.members}


async def set_member(gw: Gateway, actor: Actor, user: str, tier: str | None) -> dict[str, Any]:
    if not USER_ID_RE.fullmatch(user):
        raise BadInput("1-64 letters, digits, '_', '.' or '-'", "user_id")
    if tier is not None and tier not in member_tiers(gw):
        raise BadInput(f"no member tier {tier!r}", "member_tier")
    record = await gw.identities.set_member_tier(user, tier)
    await gw.audit.record(actor, "member.set", user, None, {"member_tier": tier})
    return record


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str
    message: str


def read_member_csv(
    text: str, tiers: set[str]
) -> tuple[list[tuple[str, str | None]], list[RowProblem]]:
    """`user_id,member_tier` rows (a header line allowed; an empty tier clears it): the rows,
    or every bad one with its line and field. Nothing is imported unless all are good."""
    rows: list[tuple[str, str | None]] = []
    problems: list[RowProblem] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or (number == 1 and row[0].strip().lower() == "user_id"):
            continue
        if len(row) != 2:
            problems.append(RowProblem(number, "row", "expected user_id,member_tier"))
            continue
        user, tier = row[0].strip(), row[1].strip() or None
        if not USER_ID_RE.fullmatch(user):
            problems.append(RowProblem(number, "user_id", "1-64 letters, digits, '_', '.' or '-'"))
        elif tier is not None and tier not in tiers:
            problems.append(RowProblem(number, "member_tier", f"no member tier {tier!r}"))
        else:
            rows.append((user, tier))
        if len(rows) + len(problems) > MAX_IMPORT_ROWS:
            problems.append(RowProblem(number, "row", f"at most {MAX_IMPORT_ROWS} rows"))
            break
    return rows, problems


async def import_members(gw: Gateway, actor: Actor, rows: list[tuple[str, str | None]]) -> int:
    for user, tier in rows:
        await gw.identities.set_member_tier(user, tier)
    await gw.audit.record(actor, "member.import", f"{len(rows)} rows", None, {"rows": len(rows)})
    return len(rows)


async def mint_screen(
    gw: Gateway, actor: Actor, campaign_id: str, ttl_s: int, label: str
) -> tuple[str, dict[str, Any]]:
    gw.runtime.live(campaign_id)  # a campaign that exists
    token, grant = gw.screen_tokens.mint(campaign_id, ttl_s)
    record = await gw.screens.record(
        grant.id, grant.campaign_id, grant.expires, label, int(time.time() * 1000)
    )
    await gw.audit.record(actor, "screen.mint", grant.id, None, record)
    return token, record


async def revoke_screen(gw: Gateway, actor: Actor, grant_id: str) -> bool:
    revoked = await gw.screens.revoke(grant_id)
    if revoked:
        await gw.audit.record(actor, "screen.revoke", grant_id)
    return revoked
