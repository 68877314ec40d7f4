"""Finance: the report by day, mode and distributor; refunds on their way back through the
payment providers; reconcile run from the console with its verdict and every mismatch; CSV
exports whose totals are the ledger's."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import Response
from starlette.routing import Route

from server.clock import from_ms
from server.console.csv_export import csv_response, money, orders_csv
from server.console.guard import Visit, page, render, see_other
from server.domain import refunds as refund_rules
from server.errors import BadInput, Conflict, NotFound, Unavailable
from server.i18n import t
from server.ledger import refund_outbox, statement_checks
from server.ledger.console_queries import money_by_day, money_by_mode
from server.ledger.payment_queries import silent_count
from server.ledger.queries import OrderFilter, finance_report, list_orders
from server.ledger.reconcile import reconcile
from server.ops import statements
from server.ops.statements import STATEMENT_PROVIDERS
from server.payments.providers import ProviderUnavailable
from server.runtime import LiveCampaign

MAX_PROBLEMS_SHOWN = 200
FOLLOWED = ("wechat", "alipay")  # the providers whose silent payments the worker asks about


def chosen(visit: Visit) -> LiveCampaign:
    """The campaign named by ?campaign=, else the first one running."""
    campaigns = visit.gw.runtime.campaigns
    wanted = visit.request.query_params.get("campaign", "")
    if wanted:
        return visit.gw.runtime.live(wanted)
    if not campaigns:
        raise NotFound("no campaign yet", "campaign")
    return next(iter(campaigns.values()))


def _offset_ms(live: LiveCampaign) -> int:
    zone = ZoneInfo(live.campaign.timezone)
    offset = live.campaign.opens_at.astimezone(zone).utcoffset()
    return int(offset.total_seconds() * 1000) if offset else 0


async def _report(visit: Visit, live: LiveCampaign) -> dict[str, Any]:
    engine = visit.gw.ledger
    cid = live.campaign.id
    days = await money_by_day(engine, cid, _offset_ms(live))
    zone = ZoneInfo(live.campaign.timezone)
    labels = [from_ms(d["day_ms"]).astimezone(zone).strftime("%m-%d") for d in days]
    chart = {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "data": [t("console.paid_in"), t("console.refunded_out")]},
        "grid": {"left": 60, "right": 20, "top": 40, "bottom": 30},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "name": t("console.yuan_axis")},
        "series": [
            {
                "name": t("console.paid_in"),
                "type": "bar",
                "data": [d["paid_fen"] / 100 for d in days],
                "itemStyle": {"color": "#c8261c"},
            },
            {
                "name": t("console.refunded_out"),
                "type": "bar",
                "data": [d["refunded_fen"] / 100 for d in days],
                "itemStyle": {"color": "#8c959f"},
            },
        ],
    }
    now = visit.gw.runtime.clock.now_ms()
    return {
        "live": live,
        "campaigns": list(visit.gw.runtime.campaigns.values()),
        "refund_states": await refund_outbox.summary(engine, cid),
        "refund_troubles": await refund_outbox.troubles(engine, cid, now, refund_rules.OVERDUE_MS),
        "refund_hours": refund_rules.OVERDUE_MS // 3_600_000,
        "statement_checks": await statement_checks.latest(engine),
        "silent_payments": await silent_count(engine, FOLLOWED, cid, now),
        "statement_providers": [
            p for p in visit.gw.settings.payment_providers if p in STATEMENT_PROVIDERS
        ],
        "yesterday": (datetime.now(statement_checks.BILL_ZONE) - timedelta(days=1)).date(),
        "report": await finance_report(engine, cid),
        "by_mode": await money_by_mode(engine, cid),
        "by_day": list(zip(labels, days, strict=True)),
        "chart": chart,
    }


@page("finance.view")
async def finance(visit: Visit) -> Response:
    live = chosen(visit)
    return render(visit, "console/finance.html", **await _report(visit, live), verdict=None)


@page("reconcile.run")
async def run_reconcile(visit: Visit) -> Response:
    live = chosen(visit)
    result = await reconcile(visit.gw.runtime.redis, visit.gw.ledger, live.stock.spaces)
    await visit.gw.audit.record(
        visit.actor,
        "finance.reconcile",
        live.campaign.id,
        None,
        {"clean": not result.problems, "problems": len(result.problems)},
    )
    verdict = {
        "clean": not result.problems,
        "report": result,
        "problems": result.problems[:MAX_PROBLEMS_SHOWN],
        "more": max(0, len(result.problems) - MAX_PROBLEMS_SHOWN),
        "at": datetime.now(ZoneInfo(live.campaign.timezone)),
    }
    return render(visit, "console/finance.html", **await _report(visit, live), verdict=verdict)


@page("reconcile.run")
async def check_statement(visit: Visit) -> Response:
    """Download a provider's statement for a day and check it against the ledger."""
    live = chosen(visit)
    provider = visit.text("provider", 16)
    if provider not in visit.gw.settings.payment_providers or provider == "sandbox":
        raise BadInput("not a provider this deployment takes", "provider", "provider_not_offered")
    try:
        day = date.fromisoformat(visit.text("date", 10))
    except ValueError:
        raise BadInput("a day as YYYY-MM-DD", "date") from None
    gw = visit.gw
    try:
        bill = await statements.download_bill(provider, gw.wechatpay, gw.alipay, day)
    except ProviderUnavailable as exc:
        raise Unavailable(f"{provider}: {exc}", "provider", "provider_unavailable") from None
    result = await statements.check(gw.ledger, provider, day, bill, int(time.time() * 1000))
    await gw.audit.record(
        visit.actor,
        "finance.statement",
        f"{provider}:{day.isoformat()}",
        None,
        {"lines": result.lines, "problems": len(result.problems)},
    )
    return see_other(f"/console/finance?campaign={live.campaign.id}", "statement_checked")


@page("refunds.send_again")
async def send_refund_again(visit: Visit) -> Response:
    """A refund the provider refused, sent again once ops fixed the cause."""
    live = chosen(visit)
    refund_id = visit.text("refund_id", 64)
    now = visit.gw.runtime.clock.now_ms()
    if not await refund_outbox.send_again(visit.gw.ledger, live.campaign.id, refund_id, now):
        raise Conflict("no refused refund of this id", "refund_id", "refund_not_refused")
    await visit.gw.audit.record(
        visit.actor, "refunds.send_again", refund_id, {"state": "refused"}, {"state": "processing"}
    )
    return see_other(f"/console/finance?campaign={live.campaign.id}", "refund_sent_again")


@page("finance.view")
async def all_orders_csv(visit: Visit) -> Response:
    """Every order of the campaign with its money; the last row totals the ledger's."""
    live = chosen(visit)
    found = await list_orders(
        visit.gw.ledger, OrderFilter(campaign_id=live.campaign.id, limit=None)
    )
    return orders_csv(f"{live.campaign.id}-orders", found, ZoneInfo(live.campaign.timezone))


@page("finance.view")
async def distributors_csv(visit: Visit) -> Response:
    live = chosen(visit)
    report = await finance_report(visit.gw.ledger, live.campaign.id)
    rows: list[list[object]] = []
    for d in report["distributors"]:
        states = d["states"]
        rows.append(
            [d["distributor"]]
            + [money(states.get(s, {}).get("amount_fen", 0)) for s in STATES]
            + [money(d["owed_fen"])]
        )
    rows.append([t("csv.total"), *([""] * len(STATES)), money(report["commission_fen"])])
    return csv_response(f"{live.campaign.id}-commission", t("csv.distributors").split("|"), rows)


STATES = ("pending", "frozen", "settled", "cancelled", "clawed_back")


@page("finance.view")
async def days_csv(visit: Visit) -> Response:
    live = chosen(visit)
    report = await _report(visit, live)
    rows: list[list[object]] = [
        [label, money(d["paid_fen"]), money(d["refunded_fen"])] for label, d in report["by_day"]
    ]
    rows.append(
        [
            t("csv.total"),
            money(sum(d["paid_fen"] for _, d in report["by_day"])),
            money(sum(d["refunded_fen"] for _, d in report["by_day"])),
        ]
    )
    return csv_response(f"{live.campaign.id}-days", t("csv.days").split("|"), rows)


routes = [
    Route("/console/finance", finance, methods=["GET"]),
    Route("/console/finance/reconcile", run_reconcile, methods=["POST"]),
    Route("/console/finance/statements", check_statement, methods=["POST"]),
    Route("/console/finance/refunds/send-again", send_refund_again, methods=["POST"]),
    Route("/console/finance/orders.csv", all_orders_csv, methods=["GET"]),
    Route("/console/finance/commission.csv", distributors_csv, methods=["GET"]),
    Route("/console/finance/days.csv", days_csv, methods=["GET"]),
]
