"""People around a campaign: member tiers (one by one, or a CSV with every bad line named),
big-screen links, ops accounts (admin only) and the audit log."""

from __future__ import annotations

import re

from starlette.responses import Response
from starlette.routing import Route

from server.console.accounts import check_new, check_password
from server.console.guard import Visit, page, render, see_other
from server.domain.roles import ROLES
from server.errors import BadInput, NotFound
from server.gateway.routes_screens import screen_url
from server.ledger.console_queries import audit_entries
from server.ops import people

AUDIT_PAGE = 100
MEMBER_CSV_BYTES = 512 * 1024
SCREEN_HOURS = (4, 12, 24, 72)


# members


@page("members.edit")
async def members(visit: Visit) -> Response:
    return render(visit, "console/members.html", tiers=_tiers(visit), problems=[], imported=None)


def _tiers(visit: Visit) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for live in visit.gw.runtime.campaigns.values():
        for tier in live.campaign.members:
            seen.setdefault(tier.id, tier.name)
    return sorted(seen.items())


@page("members.edit")
async def set_member(visit: Visit) -> Response:
    tier = visit.text("tier", 64) or None
    await people.set_member(visit.gw, visit.actor, visit.text("user", 64), tier)
    return see_other("/console/members", "member_set")


@page("members.edit")
async def import_members(visit: Visit) -> Response:
    """All or nothing: one bad line and nothing is imported, every bad line listed."""
    upload = visit.upload("file")
    if upload is None or not upload.filename:
        raise BadInput("choose a CSV file", "file")
    raw = await upload.read(MEMBER_CSV_BYTES + 1)
    if len(raw) > MEMBER_CSV_BYTES:
        raise BadInput(f"at most {MEMBER_CSV_BYTES // 1024} KiB", "file", "too_large")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput("a UTF-8 CSV file", "file") from None
    rows, problems = people.read_member_csv(text, {tier for tier, _ in _tiers(visit)})
    if problems or not rows:
        status = 422
        return render(
            visit,
            "console/members.html",
            status,
            tiers=_tiers(visit),
            problems=problems,
            imported=None,
            empty=not rows and not problems,
        )
    count = await people.import_members(visit.gw, visit.actor, rows)
    return render(visit, "console/members.html", tiers=_tiers(visit), problems=[], imported=count)


# big screens


@page("screen.watch")
async def screens(visit: Visit) -> Response:
    minted = await visit.gw.screens.minted() if visit.can("screens.manage") else []
    return render(
        visit,
        "console/screens.html",
        minted=minted,
        campaigns=list(visit.gw.runtime.campaigns.values()),
        hours=SCREEN_HOURS,
        new_url=None,
        zone=visit.zone(),
    )


def _hours(visit: Visit) -> int:
    given = visit.text("hours", 4)
    if not given.isdigit() or int(given) not in SCREEN_HOURS:
        raise BadInput(f"one of {SCREEN_HOURS}", "hours")
    return int(given)


@page("screens.manage")
async def mint_screen(visit: Visit) -> Response:
    """A link for a screen elsewhere (the venue's wall): shown once, revocable."""
    cid = visit.text("campaign", 64)
    label = visit.text("label", 60)
    if not label:
        raise BadInput("name the screen (where it hangs)", "label")
    token, record = await people.mint_screen(
        visit.gw, visit.actor, cid, _hours(visit) * 3600, label
    )
    return render(
        visit,
        "console/screens.html",
        minted=await visit.gw.screens.minted(),
        campaigns=list(visit.gw.runtime.campaigns.values()),
        hours=SCREEN_HOURS,
        new_url=screen_url(record["campaign_id"], token),
        zone=visit.zone(),
    )


@page("screen.watch")
async def watch(visit: Visit) -> Response:
    """Open the big screen here: a short-lived link minted for the one watching."""
    cid = visit.request.path_params["cid"]
    label = f"{visit.session.username}@console"
    token, record = await people.mint_screen(visit.gw, visit.actor, cid, 12 * 3600, label)
    return see_other(screen_url(record["campaign_id"], token))


@page("screens.manage")
async def revoke_screen(visit: Visit) -> Response:
    grant_id = visit.request.path_params["gid"]
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", grant_id) or not await people.revoke_screen(
        visit.gw, visit.actor, grant_id
    ):
        raise NotFound("no screen link with this id", "id")
    return see_other("/console/screens", "screen_revoked")


# ops accounts


@page("users.manage")
async def users(visit: Visit) -> Response:
    return render(visit, "console/users.html", accounts=await visit.gw.accounts.all(), roles=ROLES)


@page("users.manage")
async def add_user(visit: Visit) -> Response:
    username = visit.text("username", 40).lower()
    name = visit.text("display_name", 60) or username
    role = visit.text("role", 16)
    password = visit.text("password", 200)
    check_new(username, name, role, password)
    await visit.gw.accounts.add(username, name, role, password)
    await visit.gw.audit.record(visit.actor, "user.add", username, None, {"role": role})
    return see_other("/console/users", "user_added")


@page("users.manage")
async def change_user(visit: Visit) -> Response:
    """A new role, disabled or enabled, or a new password: every session of theirs ends."""
    username = visit.request.path_params["username"]
    account = await visit.gw.accounts.get(username)
    if account is None:
        raise NotFound("no such account", "username")
    what = visit.text("change", 16)
    before: dict[str, object] = {"role": account.role, "disabled": account.disabled}
    if what == "role":
        role = visit.text("role", 16)
        if role not in ROLES:
            raise BadInput(f"one of {', '.join(ROLES)}", "role")
        if username == visit.session.username:
            raise BadInput("ask another admin to change your own role", "role")
        await visit.gw.accounts.change(username, role=role)
        after: dict[str, object] = {"role": role}
    elif what in ("disable", "enable"):
        if username == visit.session.username:
            raise BadInput("you cannot disable yourself", "username")
        await visit.gw.accounts.change(username, disabled=what == "disable")
        after = {"disabled": what == "disable"}
    elif what == "password":
        password = visit.text("password", 200)
        check_password(password)
        await visit.gw.accounts.change(username, password=password)
        after = {"password": "changed"}
    else:
        raise BadInput("role, disable, enable or password", "change")
    await visit.gw.sessions.end_all(username)
    await visit.gw.audit.record(visit.actor, f"user.{what}", username, before, after)
    return see_other("/console/users", "user_changed")


# audit


@page("audit.view")
async def audit(visit: Visit) -> Response:
    params = visit.request.query_params
    actor = params.get("actor", "").strip()[:32] or None
    action = params.get("action", "").strip()[:48] or None
    page_no = params.get("page", "1")
    if not page_no.isdigit() or not 1 <= int(page_no) <= 10_000:
        raise BadInput("a page number", "page")
    number = int(page_no)
    found = await audit_entries(
        visit.gw.ledger, actor, action, AUDIT_PAGE + 1, (number - 1) * AUDIT_PAGE
    )
    return render(
        visit,
        "console/audit.html",
        entries=found[:AUDIT_PAGE],
        more=len(found) > AUDIT_PAGE,
        page_no=number,
        actor=actor or "",
        action=action or "",
        zone=visit.zone(),
    )


routes = [
    Route("/console/members", members, methods=["GET"]),
    Route("/console/members/set", set_member, methods=["POST"]),
    Route("/console/members/import", import_members, methods=["POST"]),
    Route("/console/screens", screens, methods=["GET"]),
    Route("/console/screens/mint", mint_screen, methods=["POST"]),
    Route("/console/screens/watch/{cid}", watch, methods=["POST"]),
    Route("/console/screens/{gid}/revoke", revoke_screen, methods=["POST"]),
    Route("/console/users", users, methods=["GET"]),
    Route("/console/users/add", add_user, methods=["POST"]),
    Route("/console/users/{username}", change_user, methods=["POST"]),
    Route("/console/audit", audit, methods=["GET"]),
]
