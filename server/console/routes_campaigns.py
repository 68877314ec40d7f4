"""The console's campaigns: the list, the editor (one form for the whole campaign, checked as
the operator types, with its preview), publishing with the diff against the running version,
versions and rollback, and the TOML file in and out."""

from __future__ import annotations

import tomllib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import Response
from starlette.routing import Route

from server.console import campaign_form as form
from server.console import preview
from server.console.guard import Visit, page, render, see_other
from server.console.wording import problem_text
from server.domain.campaign import Campaign, parse_campaign
from server.domain.phases import phase
from server.errors import BadInput, Conflict, FieldProblem, NotFound
from server.gateway.routes_quotes import quote_view
from server.ops import campaigns as publishing

MAX_IMPORT_BYTES = 256 * 1024


@page("campaign.view")
async def campaign_list(visit: Visit) -> Response:
    gw = visit.gw
    now = gw.runtime.clock.now()
    rows = []
    for live in gw.runtime.campaigns.values():
        pools = await live.stock.pools()
        rows.append(
            {
                "campaign": live.campaign,
                "version": live.version,
                "phase": phase(live.campaign, now),
                "paused": sorted(live.paused),
                "remaining": sum(p["remaining"] for p in pools.values()),
                "total": sum(p["quota"] for p in pools.values()),
            }
        )
    return render(visit, "console/campaigns.html", rows=rows)


@page("campaign.edit")
async def new_campaign(visit: Visit) -> Response:
    return _editor(visit, form.empty_form(), running=None)


@page("campaign.edit")
async def edit_campaign(visit: Visit) -> Response:
    cid = visit.request.path_params["cid"]
    visit.gw.runtime.live(cid)
    text = await publishing.current_text(visit.gw, cid)
    assert text is not None
    return _editor(visit, form.from_raw(tomllib.loads(text)), running=cid)


@page("campaign.edit")
async def check_form(visit: Visit) -> Response:
    """htmx, as the operator types: the preview, and out of band the problems of every field
    that has one or shows one (`_shown`, from console.js). Swapping all ~150 fields' boxes
    on each keystroke held the browser's main thread ~300 ms in a full form."""
    values = visit.values()
    checked = form.check(values)
    context = _form_context(values, checked)
    shown = set(visit.text("_shown", _SHOWN_LIMIT).split())
    return render(visit, "console/_check.html", shown=shown, **context)


_SHOWN_LIMIT = 64_000  # every slot's box id at once, with room to spare


@page("campaign.edit")
async def change_form(visit: Visit) -> Response:
    """htmx: a row added or removed, a section switched on or off; the form drawn again."""
    values = visit.values()
    op, _, target = visit.text("_op", 120).partition(":")
    if op == "add":
        values = form.with_row_added(values, target)
    elif op == "remove":
        values = form.with_row_removed(values, target)
    elif op in ("on", "off") and any(s.id == target for s in form.FORM):
        values[f"on.{target}"] = ["1" if op == "on" else ""]
    else:
        raise BadInput("unknown change to the form", "_op")
    checked = form.check(values)
    return render(
        visit,
        "console/_editor_form.html",
        running=visit.text("_running", 64) or None,
        **_form_context(values, checked),
    )


@page("campaign.edit")
async def review(visit: Visit) -> Response:
    """The publish step: the form checked once more, then the diff against what runs."""
    values = visit.values()
    checked = form.check(values)
    running = visit.text("_running", 64) or None
    if checked.campaign is None:
        return _editor(visit, values, running, checked, status=422)
    return await _review(visit, checked.text, checked.campaign)


@page("campaign.edit")
async def publish(visit: Visit) -> Response:
    text = visit.text("text", MAX_IMPORT_BYTES)
    campaign = parse_campaign(text)
    base = visit.text("base_version", 12)
    live = visit.gw.runtime.campaigns.get(campaign.id)
    if str(live.version if live else 0) != base:  # someone published in between
        return await _review(visit, text, campaign, moved=True)
    try:
        await publishing.publish(visit.gw, visit.actor, text, campaign.id)
    except Conflict as exc:
        return await _review(visit, text, campaign, refused=exc)
    return see_other(f"/console/c/{campaign.id}/edit", "published")


@page("campaign.edit")
async def import_file(visit: Visit) -> Response:
    """A campaign file (uploaded, or handed back from the publish step) into the editor."""
    upload = visit.upload("file")
    if upload is not None:
        data = await upload.read(MAX_IMPORT_BYTES + 1)
        if len(data) > MAX_IMPORT_BYTES:
            raise BadInput("the file is too large", "file", "too_large")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput("the file is not UTF-8 text", "file") from None
    else:
        text = visit.text("text", MAX_IMPORT_BYTES)
    try:
        raw = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        problem = FieldProblem(None, "not TOML", "toml")
        checked = form.Checked(text, None, [problem])
        return _editor(visit, form.empty_form(), None, checked, status=422)
    values = form.from_raw(raw)
    running = str(raw.get("id")) if str(raw.get("id")) in visit.gw.runtime.campaigns else None
    return _editor(visit, values, running)


@page("campaign.edit")
async def download_form(visit: Visit) -> Response:
    """The form as a campaign file, to keep or send (only once it passes its check)."""
    values = visit.values()
    checked = form.check(values)
    if checked.campaign is None:
        return _editor(visit, values, visit.text("_running", 64) or None, checked, status=422)
    return _toml(checked.text, checked.campaign.id)


@page("campaign.view")
async def download_running(visit: Visit) -> Response:
    cid = visit.request.path_params["cid"]
    version = visit.request.query_params.get("version")
    live = visit.gw.runtime.live(cid)
    number = int(version) if version and version.isdigit() else live.version
    text = await visit.gw.runtime.campaign_version(cid, number)
    if text is None:
        raise NotFound("no such version", "version")
    return _toml(text, f"{cid}-v{number}")


@page("campaign.view")
async def versions(visit: Visit) -> Response:
    cid = visit.request.path_params["cid"]
    live = visit.gw.runtime.live(cid)
    numbers = sorted(await visit.gw.runtime.campaign_versions(cid), reverse=True)
    current = await publishing.current_text(visit.gw, cid) or ""
    rows = []
    for number in numbers[:50]:
        text = await visit.gw.runtime.campaign_version(cid, number) or ""
        rows.append({"number": number, "diff": publishing.diff(text, current).splitlines()})
    return render(visit, "console/versions.html", live=live, rows=rows)


@page("campaign.edit")
async def roll_back(visit: Visit) -> Response:
    cid = visit.request.path_params["cid"]
    number = visit.text("version", 12)
    if not number.isdigit():
        raise BadInput("a version number", "version")
    await publishing.rollback(visit.gw, visit.actor, cid, int(number))
    return see_other(f"/console/c/{cid}/versions", "rolled_back")


def _editor(
    visit: Visit,
    values: dict[str, list[str]],
    running: str | None,
    checked: form.Checked | None = None,
    status: int = 200,
) -> Response:
    if checked is not None:  # after a refused publish: every problem, the untouched too
        values = {**values, "_all": ["1"]}
    checked = checked or form.check(values)
    context = _form_context(values, checked)
    return render(visit, "console/editor.html", status, running=running, **context)


_UNTOUCHED = ("missing", "too_short")  # said of a field only once the operator has been there


def _form_context(values: dict[str, list[str]], checked: form.Checked) -> dict[str, Any]:
    every = (values.get("_all") or [""])[-1] == "1"
    touched = set((values.get("_touched") or [""])[-1].split())
    problems = [
        p
        for p in checked.problems
        if every or p.code not in _UNTOUCHED or (p.field or "") in touched
    ]
    placed = form.place(problems, set(form.slots_of(values)))
    context: dict[str, Any] = {
        "values": values,
        "placed": placed,
        "form": form,
        "problem_text": problem_text,
        "checked": checked,
        "slot_id": slot_id,
    }
    if checked.campaign is not None:
        context["preview"] = _preview(checked.campaign, values)
    return context


def _preview(campaign: Campaign, values: dict[str, list[str]]) -> dict[str, Any]:
    moments = preview.moments(campaign)
    chosen = (values.get("_at") or [""])[-1]
    at = next((m for m in moments if m.isoformat() == chosen), moments[0])
    spans = preview.timeline(campaign)
    start, end = preview.span_range(spans)
    length = max((end - start).total_seconds(), 1.0)

    def x(moment: datetime) -> float:
        return round((moment - start).total_seconds() / length * 100, 2)

    bars = [
        {
            "span": s,
            "x": x(s.start),
            "width": max(x(s.end) - x(s.start), 0.8) if s.end else 0.8,
        }
        for s in spans
    ]
    quotes = [
        (sample, quote_view(campaign.id, sample.who, q))
        for sample, q in preview.sample_quotes(campaign, at)
    ]
    return {
        "campaign": campaign,
        "zone": ZoneInfo(campaign.timezone),
        "pools": preview.pool_split(campaign),
        "bars": bars,
        "moments": moments,
        "at": at,
        "quotes": quotes,
    }


async def _review(
    visit: Visit,
    text: str,
    campaign: Campaign,
    moved: bool = False,
    refused: Conflict | None = None,
) -> Response:
    live = visit.gw.runtime.campaigns.get(campaign.id)
    before = await publishing.current_text(visit.gw, campaign.id) if live else None
    return render(
        visit,
        "console/review.html",
        409 if moved or refused else 200,
        campaign=campaign,
        text=text,
        base_version=live.version if live else 0,
        diff=publishing.diff(before or "", text).splitlines() if before else None,
        moved=moved,
        refused=refused,
    )


def _toml(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="application/toml; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}.toml"'},
    )


def slot_id(path: str) -> str:
    """A slot's element id: its path with only characters an id selector takes."""
    return "err-" + (path.replace(".", "-").replace("[", "_").replace("]", "") or "form")


routes = [
    Route("/console/", campaign_list, methods=["GET"]),
    Route("/console/campaigns/new", new_campaign, methods=["GET"]),
    Route("/console/campaigns/check", check_form, methods=["POST"]),
    Route("/console/campaigns/form", change_form, methods=["POST"]),
    Route("/console/campaigns/review", review, methods=["POST"]),
    Route("/console/campaigns/publish", publish, methods=["POST"]),
    Route("/console/campaigns/import", import_file, methods=["POST"]),
    Route("/console/campaigns/download", download_form, methods=["POST"]),
    Route("/console/c/{cid}/edit", edit_campaign, methods=["GET"]),
    Route("/console/c/{cid}/versions", versions, methods=["GET"]),
    Route("/console/c/{cid}/rollback", roll_back, methods=["POST"]),
    Route("/console/c/{cid}/campaign.toml", download_running, methods=["GET"]),
]
