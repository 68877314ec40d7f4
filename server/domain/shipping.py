"""Shipping rules: the carriers, what a tracking number looks like, the tracking CSV a
warehouse uploads (every bad row named by its line and field), and logistics events.

Pure: the adapter (server/ops/shipping.py) checks each row's order against the hot state,
and applies nothing unless every row is good.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Literal

# Carriers by their code (the names, Chinese, are in the catalogue: carrier.<code>), each
# with the shape of its tracking numbers.
CARRIERS: dict[str, re.Pattern[str]] = {
    "SF": re.compile(r"SF\d{12,13}"),  # 顺丰
    "JD": re.compile(r"JD[A-Z0-9]{11,13}"),  # 京东
    "ZTO": re.compile(r"\d{12,15}"),  # 中通
    "YTO": re.compile(r"YT\d{13,15}"),  # 圆通
    "STO": re.compile(r"77\d{11,13}"),  # 申通
    "YD": re.compile(r"\d{13,15}"),  # 韵达
    "JT": re.compile(r"JT\d{13,15}"),  # 极兔
    "EMS": re.compile(r"[A-Z]{2}\d{9}[A-Z]{2}|1\d{12}"),  # 邮政 EMS
}
MAX_ROWS = 10_000
MAX_BYTES = 512 * 1024  # as the console's largest form
# Accepted headings, by column: what a spreadsheet made from our pick list says, or the API's.
HEADINGS = {
    "order_id": ("order_id", "订单号"),
    "carrier": ("carrier", "快递公司"),
    "tracking_no": ("tracking_no", "运单号"),
}

EventStatus = Literal["collected", "in_transit", "out_for_delivery", "delivered", "exception"]
EVENT_STATUSES: tuple[EventStatus, ...] = (
    "collected",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "exception",
)


@dataclass(frozen=True)
class LogisticsEvent:
    """What the logistics provider says happened to a parcel."""

    carrier: str
    tracking_no: str
    event_id: str  # the provider's: an event delivered twice is recorded once
    status: EventStatus
    at_ms: int
    text: str  # the provider's own words ("【上海】已签收"), shown to the buyer as they are


@dataclass(frozen=True)
class TrackingRow:
    line: int  # as a spreadsheet numbers it (the heading is line 1)
    order_id: str
    carrier: str
    tracking_no: str


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str
    code: str  # the catalogue's errors.<code>
    message: str  # for the API, in English


def carrier_code(given: str, names: dict[str, str]) -> str | None:
    """A carrier by its code ("SF", any case) or its Chinese name (`names`: code -> name)."""
    text = given.strip()
    if text.upper() in CARRIERS:
        return text.upper()
    return next((code for code, name in names.items() if name == text), None)


def check_tracking(carrier: str, tracking_no: str) -> bool:
    return bool(CARRIERS[carrier].fullmatch(tracking_no))


def parse_tracking_csv(
    raw: bytes, names: dict[str, str]
) -> tuple[list[TrackingRow], list[RowProblem]]:
    """Every row of an upload, and every problem in it (a file with any problem is refused
    as a whole, so a half-applied upload never has to be untangled)."""
    if len(raw) > MAX_BYTES:
        return [], [RowProblem(0, "file", "too_large", f"more than {MAX_BYTES} bytes")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [RowProblem(0, "file", "not_utf8", "the file is not UTF-8 text")]
    reader = csv.reader(io.StringIO(text))
    heading = next(reader, [])
    columns = _columns(heading)
    if isinstance(columns, RowProblem):
        return [], [columns]
    rows: list[TrackingRow] = []
    problems: list[RowProblem] = []
    orders_seen: dict[str, int] = {}
    numbers_seen: dict[tuple[str, str], int] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if line - 1 > MAX_ROWS:
            problems.append(RowProblem(line, "file", "too_many_rows", f"over {MAX_ROWS} rows"))
            break
        found = {name: _cell(cells, i) for name, i in columns.items()}
        row_problems = _row_problems(line, found, names, orders_seen, numbers_seen)
        if row_problems:
            problems += row_problems
            continue
        carrier = carrier_code(found["carrier"], names) or ""
        rows.append(TrackingRow(line, found["order_id"], carrier, found["tracking_no"]))
        orders_seen[found["order_id"]] = line
        numbers_seen[(carrier, found["tracking_no"])] = line
    if not rows and not problems:
        problems.append(RowProblem(0, "file", "no_rows", "no rows below the heading"))
    return rows, problems


def _columns(heading: list[str]) -> dict[str, int] | RowProblem:
    cleaned = [cell.strip().lower() for cell in heading]
    columns: dict[str, int] = {}
    for name, accepted in HEADINGS.items():
        at = next((i for i, cell in enumerate(cleaned) if cell in accepted), None)
        if at is None:
            return RowProblem(1, name, "missing_column", f"no column {'/'.join(accepted)}")
        columns[name] = at
    return columns


def _cell(cells: list[str], i: int) -> str:
    return cells[i].strip() if i < len(cells) else ""


def _row_problems(
    line: int,
    found: dict[str, str],
    names: dict[str, str],
    orders_seen: dict[str, int],
    numbers_seen: dict[tuple[str, str], int],
) -> list[RowProblem]:
    problems = []
    order_id, tracking_no = found["order_id"], found["tracking_no"].upper()
    found["tracking_no"] = tracking_no
    if not order_id:
        problems.append(RowProblem(line, "order_id", "required", "order_id is empty"))
    elif order_id in orders_seen:
        seen = orders_seen[order_id]
        problems.append(RowProblem(line, "order_id", "twice", f"also on line {seen}"))
    carrier = carrier_code(found["carrier"], names)
    if carrier is None:
        problems.append(RowProblem(line, "carrier", "no_carrier", "not a carrier we ship with"))
    elif not check_tracking(carrier, tracking_no):
        problems.append(
            RowProblem(line, "tracking_no", "bad_tracking", f"not a {carrier} tracking number")
        )
    elif (carrier, tracking_no) in numbers_seen:
        seen = numbers_seen[(carrier, tracking_no)]
        problems.append(RowProblem(line, "tracking_no", "twice", f"also on line {seen}"))
    return problems
