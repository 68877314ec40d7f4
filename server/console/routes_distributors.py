"""Distributors: the approval queue, each one's place in the recruitment tree (upline and
downline), commission lines by state, payouts with a statement, the withdrawal queue, and
payouts through the provider: the transfers sent and the schedule ops set."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field
from starlette.responses import Response
from starlette.routing import Route

from server.clock import from_ms
from server.console.csv_export import csv_response, money
from server.console.guard import Visit, page, render, see_other
from server.domain import payouts as payout_rules
from server.errors import BadInput, NotFound
from server.gateway.http import parse_params
from server.gateway.schemas import StrictBody
from server.i18n import t
from server.ledger import payout_outbox
from server.ledger.console_queries import distributors, requested_withdrawals
from server.ledger.queries import commissions_of, downline_of, orders_via, withdrawals_of
from server.ops import distribution

CODE = re.compile(r"[A-Z0-9]{1,16}")
PAGE_SIZE = 50


def _code(visit: Visit) -> str:
    code: str = visit.request.path_params["code"]
    if not CODE.fullmatch(code):
        raise BadInput("a distributor code: capital letters and digits", "code")
    return code


class DistributorSearch(StrictBody):
    status: Literal["pending", "active"] | None = None
    q: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")  # code or user id
    page: int = Field(default=1, ge=1, le=10_000)


@page("distributors.view")
async def distributor_list(visit: Visit) -> Response:
    given = {k: v.strip() for k, v in visit.request.query_params.items() if v.strip()}
    search = parse_params(given, DistributorSearch)
    found = await distributors(
        visit.gw.ledger, search.status, PAGE_SIZE + 1, (search.page - 1) * PAGE_SIZE, search.q
    )
    return render(
        visit,
        "console/distributors.html",
        search=search,
        query={k: v for k, v in given.items() if k != "page"},
        queue=await distributors(visit.gw.ledger, "pending", 100),
        found=found[:PAGE_SIZE],
        more=len(found) > PAGE_SIZE,
        withdrawals=await requested_withdrawals(visit.gw.ledger),
        zone=visit.zone(),
        **await _payout_facts(visit),
    )


async def _payout_facts(visit: Visit) -> dict[str, Any]:
    """The transfers sent through the provider, and the schedule with its next slot."""
    found = await payout_outbox.schedule(visit.gw.ledger)
    plan = found[0] if found else None
    zone = ZoneInfo(visit.zone())
    now = datetime.fromtimestamp(visit.gw.runtime.clock.now_ms() / 1000, zone)
    return {
        "transfers": await payout_outbox.recent(visit.gw.ledger),
        "schedule": plan,
        "next_slot": payout_rules.next_slot(plan, now) if plan and plan.on else None,
        "transfers_on": bool(visit.gw.settings.wechatpay),
    }


@page("payouts.decide")
async def set_schedule(visit: Visit) -> Response:
    """Ops set when every distributor with a payee is paid their balance."""
    try:
        at = time.fromisoformat(visit.text("at", 5))
        weekday = int(visit.text("weekday", 1))
        minimum_fen = round(float(visit.text("minimum", 12)) * 100)
    except ValueError:
        raise BadInput("a weekday, a time (HH:MM) and a minimum in yuan", "at") from None
    plan = payout_rules.Schedule(visit.text("on", 3) == "1", weekday, at, minimum_fen)
    zone = ZoneInfo(visit.zone())
    now = datetime.fromtimestamp(visit.gw.runtime.clock.now_ms() / 1000, zone)
    past = payout_rules.last_slot(plan, now).date().isoformat()
    await payout_outbox.set_schedule(visit.gw.ledger, plan, past, visit.actor.name)
    await visit.gw.audit.record(
        visit.actor,
        "payouts.schedule",
        "schedule",
        None,
        {"on": plan.on, "weekday": weekday, "at": at.isoformat(), "minimum_fen": minimum_fen},
    )
    return see_other("/console/distributors", "schedule_set")


@page("distributors.view")
async def distributor_detail(visit: Visit) -> Response:
    code = _code(visit)
    link = await visit.gw.identities.link(code)
    if link is None or link.get("kind") != "distributor":
        raise NotFound("no distributor with this code", "code")
    upline = await visit.gw.identities.link(link["upline"]) if link.get("upline") else None
    return render(
        visit,
        "console/distributor.html",
        link=link,
        upline=upline,
        summary=await commissions_of(visit.gw.ledger, code),
        downline=await downline_of(visit.gw.ledger, code),
        orders=await orders_via(visit.gw.ledger, code, 100),
        withdrawals=await withdrawals_of(visit.gw.ledger, code),
        zone=visit.zone(),
    )


@page("distributors.approve")
async def approve(visit: Visit) -> Response:
    code = _code(visit)
    await distribution.approve(visit.gw, visit.actor, code)
    back = visit.text("back", 100)
    return see_other(back if back.startswith("/console/") else "/console/distributors", "approved")


@page("payouts.decide")
async def pay_out(visit: Visit) -> Response:
    code = _code(visit)
    amount = await distribution.pay_out(visit.gw, visit.actor, code)
    return see_other(f"/console/distributors/{code}", "paid_out" if amount else "nothing_to_pay")


@page("payouts.decide")
async def decide(visit: Visit) -> Response:
    wid = visit.request.path_params["wid"]
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", wid):
        raise BadInput("no such withdrawal", "id")
    pay = visit.request.url.path.endswith("/pay")
    reason = visit.text("reason", 200) or None
    if not pay and not reason:
        raise BadInput("say why it is rejected", "reason")
    await distribution.decide_withdrawal(visit.gw, visit.actor, wid, pay, reason)
    return see_other("/console/distributors", "withdrawal_paid" if pay else "withdrawal_rejected")


@page("distributors.view")
async def statement(visit: Visit) -> Response:
    """A distributor's statement: every commission line and payout, with the balance."""
    code = _code(visit)
    summary = await commissions_of(visit.gw.ledger, code, lines_limit=None)
    zone = visit.zone()
    rows: list[list[object]] = [
        [
            line["order_id"],
            t("console.level", n=line["level"]),
            money(line["base_fen"]),
            f"{line['rate_bp'] / 100:.2f}%",
            money(line["amount_fen"]),
            t(f"commission.{line['state']}"),
            from_ms(line["updated_at_ms"]).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M"),
        ]
        for line in summary["lines"]
    ]
    for state, total in summary["commissions"].items():
        rows.append(
            [t("csv.total"), t(f"commission.{state}"), "", "", money(total["amount_fen"]), "", ""]
        )
    rows.append([t("csv.paid_out"), "", "", "", money(summary["paid_out_fen"]), "", ""])
    rows.append([t("csv.balance"), "", "", "", money(summary["balance_fen"]), "", ""])
    return csv_response(f"statement-{code}", t("csv.statement").split("|"), rows)


routes = [
    Route("/console/distributors", distributor_list, methods=["GET"]),
    Route("/console/distributors/{code}", distributor_detail, methods=["GET"]),
    Route("/console/distributors/{code}/approve", approve, methods=["POST"]),
    Route("/console/distributors/{code}/payout", pay_out, methods=["POST"]),
    Route("/console/distributors/{code}/statement.csv", statement, methods=["GET"]),
    Route("/console/payouts/schedule", set_schedule, methods=["POST"]),
    Route("/console/withdrawals/{wid}/pay", decide, methods=["POST"]),
    Route("/console/withdrawals/{wid}/reject", decide, methods=["POST"]),
]
