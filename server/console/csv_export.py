"""CSV exports of the console: rows from the ledger, money in yuan with two decimals (what a
spreadsheet sums), a BOM so Excel opens the Chinese headings, and a total row that equals
the ledger's own total."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import Response

from server.clock import from_ms
from server.domain.attribution import Funnel, Report
from server.i18n import t


def money(fen: int) -> str:
    """Fen as yuan with two decimals, exactly (no float)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def csv_response(name: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}.csv"'},
    )


def orders_csv(name: str, found: list[dict[str, Any]], zone: ZoneInfo) -> Response:
    """Orders as the ledger has them, one a row, then their total."""
    rows: list[list[object]] = [_order_row(o, zone) for o in found]
    paid = sum(o["paid_fen"] for o in found)
    refunded = sum(o["refunded_fen"] for o in found)
    total: list[object] = [t("csv.total"), "", "", "", "", sum(o["qty"] for o in found)]
    rows.append([*total, money(paid), money(refunded), money(paid - refunded), "", ""])
    return csv_response(name, t("csv.orders").split("|"), rows)


def _order_row(o: dict[str, Any], zone: ZoneInfo) -> list[object]:
    return [
        o["id"],
        from_ms(o["created_at_ms"]).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
        t(f"mode.{o['mode']}"),
        t(f"status.{o['status']}"),
        o["user"],
        o["qty"],
        money(o["paid_fen"]),
        money(o["refunded_fen"]),
        money(o["paid_fen"] - o["refunded_fen"]),
        o["ref"] or "",
        o["group_code"] or "",
    ]


def pick_list_csv(name: str, lines: list[dict[str, Any]], zone: ZoneInfo) -> Response:
    """A warehouse's pick list: one row per order it ships, then the units in total."""
    rows: list[list[object]] = []
    for line in lines:
        address = line["address"]
        routed_at = from_ms(line["updated_at_ms"]).astimezone(zone)
        rows.append(
            [
                line["order_id"],
                line["units"],
                address["recipient"],
                address["phone"],
                address["region"],
                address["street"],
                routed_at.strftime("%Y-%m-%d %H:%M:%S"),
            ]
        )
    rows.append([t("csv.total"), sum(line["units"] for line in lines), "", "", "", "", ""])
    return csv_response(name, t("csv.pick_list").split("|"), rows)


def attribution_rows(found: Report, names: dict[str, str]) -> list[list[object]]:
    """One figure a row: section, item, figure, value (what a pivot table reads)."""
    o, g, d = found.overlap, found.groups, found.distributors
    section = t("attribution.csv_overlap")
    rows: list[list[object]] = [
        [section, t("attribution.depositors"), "", o.depositors],
        [section, t("attribution.depositors_in_groups"), "", o.depositors_in_groups],
        [section, t("attribution.group_buyers"), "", o.group_buyers],
        [section, t("attribution.group_via_distributors"), "", o.group_buyers_via_distributors],
        [section, t("attribution.direct_buyers"), "", o.direct_buyers],
        [section, t("attribution.in_all_three"), "", o.in_all_three],
    ]
    for funnel in found.channels:
        rows += _funnel_rows(t("attribution.csv_channels"), t(f"channel.{funnel.source}"), funnel)
    for funnel in found.sources:
        label = f"{names.get(funnel.source, funnel.source)}（{funnel.source}）"
        rows += _funnel_rows(t("attribution.csv_sources"), label, funnel)
    section = t("attribution.csv_groups")
    rows += [
        [section, t("attribution.groups_opened"), "", g.opened],
        [section, t("attribution.groups_formed"), "", g.formed],
        [section, t("attribution.groups_failed"), "", g.failed],
        [section, t("attribution.sign_ups"), "", g.sign_ups],
        *([section, t("attribution.size", n=size), "", n] for size, n in g.sizes.items()),
    ]
    section = t("attribution.csv_distributors")
    rows += [
        [section, t("attribution.recruited"), "", d.recruited],
        [section, t("attribution.active"), "", d.active],
        [section, t("attribution.tree_depth"), "", d.tree_depth],
    ]
    for mode, fen in sorted(found.gmv_by_mode.items()):
        rows.append([t("attribution.csv_gmv_mode"), t(f"mode.{mode}"), "", money(fen)])
    for channel, fen in sorted(found.gmv_by_first_touch.items()):
        rows.append([t("attribution.csv_gmv_first"), t(f"channel.{channel}"), "", money(fen)])
    return rows


def _funnel_rows(section: str, label: str, funnel: Funnel) -> list[list[object]]:
    return [
        [section, label, t("attribution.views"), funnel.views],
        [section, label, t("attribution.orders"), funnel.orders],
        [section, label, t("attribution.paid"), funnel.paid],
        [section, label, t("attribution.balance_paid"), funnel.balance_paid],
    ]
