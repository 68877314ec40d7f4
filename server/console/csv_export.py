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
