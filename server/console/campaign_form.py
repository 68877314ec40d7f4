"""The campaign editor's form: every field of the campaign file as an operator types it
(yuan, percent, minutes, hours, a local date and time), turned into the file's data and back.

Pure: no I/O. A form's field is named by its path in the file (`group.tiers[1].price_fen`),
so a problem that the file's own validation (`parse_campaign`, the check that guards an
upload) finds is shown at the field it names. Repeated rows (group tiers, pools, their
borrowing rules) are numbered from 0 without gaps; the page adds and removes rows through
the server, which renumbers them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.domain.campaign import MODES, Campaign, parse_campaign
from server.domain.campaign_file import to_toml
from server.errors import FieldProblem, InvalidCampaign

Kind = Literal[
    "text", "slug", "yuan", "percent", "int", "minutes", "hours", "datetime", "bool", "choice",
    "modes", "numbers",
]  # fmt: skip
Values = Mapping[str, list[str]]  # a posted form: every value of every name

ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo", "UTC")
DEFAULT_ZONE = "Asia/Shanghai"
MAX_ROWS = 20  # per repeated list: the file's own bound


@dataclass(frozen=True)
class Field:
    key: str  # its name in the file
    kind: Kind
    optional: bool = False  # left empty: left out of the file
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rows:
    """A repeated list in the file (group tiers, pools): each row its fields and lists."""

    key: str
    fields: tuple[Field, ...]
    lists: tuple[Rows, ...] = ()


@dataclass(frozen=True)
class Section:
    """One part of the form: a section of the file (`presale`), or part of its top level
    (`path` ""). A toggled section is in the file only when the operator switches it on."""

    id: str
    path: str
    fields: tuple[Field, ...] = ()
    lists: tuple[Rows, ...] = ()
    toggle: bool = False


def _window(*extra: Field) -> tuple[Field, ...]:
    return (Field("opens_at", "datetime"), Field("closes_at", "datetime"), *extra)


_SELLING = (Field("per_user_limit", "int"), Field("pay_within_s", "minutes"))

FORM: tuple[Section, ...] = (
    Section(
        "basics",
        "",
        (
            Field("id", "slug"),
            Field("name", "text"),
            Field("brand", "text"),
            Field("timezone", "choice", choices=ZONES),
        ),
    ),
    Section(
        "sku",
        "sku",
        (
            Field("id", "slug"),
            Field("name", "text"),
            Field("daily_price_fen", "yuan"),
            Field("total_units", "int"),
        ),
    ),
    Section(
        "presale",
        "presale",
        _window(
            Field("deposit_fen", "yuan"),
            Field("balance_fen", "yuan"),
            Field("price_fen", "yuan"),
            Field("balance_opens_at", "datetime"),
            Field("balance_closes_at", "datetime"),
            *_SELLING,
        ),
        toggle=True,
    ),
    Section(
        "group",
        "group",
        _window(
            Field("validity_s", "hours"),
            Field("capacity", "int"),
            *_SELLING,
            Field("auto_complete", "bool"),
            Field("auto_complete_max_missing", "int"),
        ),
        (Rows("tiers", (Field("min_members", "int"), Field("price_fen", "yuan"))),),
        toggle=True,
    ),
    Section(
        "depositor_group",
        "depositor_group",
        (Field("opens_at", "datetime"), Field("price_fen", "yuan")),
        toggle=True,
    ),
    Section("direct", "direct", _window(*_SELLING), toggle=True),
    Section(
        "distribution",
        "distribution",
        (
            Field("level1_rate_bp", "percent"),
            Field("level2_rate_bp", "percent"),
            Field("self_purchase_commission", "bool"),
            Field("after_sale_days", "int"),
            Field("recruitment", "choice", choices=("open", "spend", "approval")),
            Field("recruitment_min_spend_fen", "yuan", optional=True),
        ),
        (
            Rows(
                "volume_tiers",
                (
                    Field("min_units", "int"),
                    Field("level1_rate_bp", "percent"),
                    Field("level2_rate_bp", "percent"),
                ),
            ),
        ),
        toggle=True,
    ),
    Section(
        "members",
        "",
        lists=(
            Rows(
                "members",
                (Field("id", "slug"), Field("name", "text"), Field("discount_bp", "percent")),
            ),
        ),
    ),
    Section("stacking", "stacking", (Field("member_discount_modes", "modes"),)),
    Section(
        "stock",
        "stock",
        (Field("buckets", "int", optional=True),),
        lists=(
            Rows(
                "pools",
                (
                    Field("name", "slug"),
                    Field("kind", "choice", choices=("reserve", "shared")),
                    Field("modes", "modes"),
                    Field("share_pct", "int"),
                    Field("returns_to", "slug", optional=True),
                    Field("returns_at", "datetime", optional=True),
                ),
                (Rows("borrow", (Field("from", "slug"), Field("floor", "int"))),),
            ),
        ),
    ),
    Section(
        "fulfilment",
        "fulfilment",
        (Field("strategy", "choice", choices=("region_priority", "most_stock")),),
        (
            Rows(
                "warehouses",
                (
                    Field("code", "slug"),
                    Field("name", "text"),
                    Field("kind", "choice", choices=("warehouse", "front")),
                    Field("location", "text"),
                    Field("units", "int"),
                ),
                (Rows("serves", (Field("region", "text"), Field("priority", "int"))),),
            ),
        ),
        toggle=True,
    ),
    Section(
        "notifications",
        "notifications",
        (
            Field("open_depositor_offer", "bool"),
            Field("balance_reminders_h", "numbers"),
            Field("group_short", "int"),
            Field("promotions_per_hour", "int"),
        ),
    ),
)

_INDEX = re.compile(r"\[\d+\]")


def pattern(path: str) -> str:
    """A path without its row numbers: the key of its label (`group.tiers.price_fen`)."""
    return _INDEX.sub("", path)


def join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def toggle_name(section: Section) -> str:
    return f"on.{section.id}"


# -- the form's values -> the file's data ---------------------------------------------------


def to_raw(values: Values) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The campaign file's data from a posted form, and every value that could not be read
    (a price that is not an amount, a date that is not a date), by its path."""
    problems: list[FieldProblem] = []
    zone = _zone(_one(values, "timezone"))
    raw: dict[str, Any] = {}
    for section in FORM:
        if section.toggle and not is_on(values, section):
            continue
        target = raw if not section.path else raw.setdefault(section.path, {})
        _fill(target, section.path, section.fields, section.lists, values, zone, problems)
    return raw, problems


def is_on(values: Values, section: Section) -> bool:
    return not section.toggle or _one(values, toggle_name(section)) == "1"


def row_count(values: Values, list_path: str) -> int:
    """How many rows of a list the form holds: one more than its highest row number."""
    found = -1
    prefix = list_path + "["
    for name in values:
        if name.startswith(prefix):
            number = name[len(prefix) :].split("]", 1)[0]
            if number.isdigit():
                found = max(found, int(number))
    return min(found + 1, MAX_ROWS)


def _fill(
    target: dict[str, Any],
    prefix: str,
    fields: Iterable[Field],
    lists: Iterable[Rows],
    values: Values,
    zone: ZoneInfo,
    problems: list[FieldProblem],
) -> None:
    for f in fields:
        path = join(prefix, f.key)
        try:
            value = _read(f, values.get(path, []), zone)
        except ValueError as exc:
            problems.append(FieldProblem(path, str(exc), str(exc)))
            continue
        if value is not None:
            target[f.key] = value
    for rows in lists:
        path = join(prefix, rows.key)
        target[rows.key] = []
        for i in range(row_count(values, path)):
            row: dict[str, Any] = {}
            _fill(row, f"{path}[{i}]", rows.fields, rows.lists, values, zone, problems)
            target[rows.key].append(row)


def _read(f: Field, given: list[str], zone: ZoneInfo) -> Any:
    """One field's value in the file's own unit; None when left empty (then the file's
    validation says whether it may be). Raises ValueError with a problem code."""
    if f.kind == "bool":
        return bool(given) and given[-1] == "1"
    if f.kind == "modes":
        chosen = [v for v in given if v]
        if any(v not in MODES for v in chosen):
            raise ValueError("not_a_choice")
        return [m for m in MODES if m in chosen]  # in the usual order, once each
    text = given[-1].strip() if given else ""
    if f.kind == "numbers":  # whole numbers apart by commas or spaces; none: an empty list
        return [_scaled(part, 1, "not_whole") for part in re.split(r"[,，\s]+", text) if part]
    if not text:
        return None
    if f.kind == "choice" and text not in f.choices:
        raise ValueError("not_a_choice")
    if f.kind == "datetime":
        return _local_time(text, zone)
    if f.kind in _NUMBERS:
        scale, multiple, problem = _NUMBERS[f.kind]
        return _scaled(text, scale, problem) * multiple
    return text  # text, slug, choice


# kind: (hundredths or not, seconds per unit, the problem when it is not such a number)
_NUMBERS: dict[str, tuple[int, int, str]] = {
    "yuan": (100, 1, "not_yuan"),
    "percent": (100, 1, "not_percent"),
    "int": (1, 1, "not_whole"),
    "minutes": (1, 60, "not_whole"),
    "hours": (1, 3600, "not_whole"),
}


def fen_of(text: str) -> int:
    """Yuan a person typed ("29.80", "¥1,200"), in fen; ValueError("not_yuan") if not."""
    return _scaled(text, 100, "not_yuan")


def _scaled(text: str, scale: int, problem: str) -> int:
    """A decimal number typed by a person, exactly, in hundredths (yuan -> fen, % -> bp)."""
    text = text.replace(",", "").replace("，", "").replace("¥", "").replace("%", "").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(problem) from None
    if not number.is_finite() or abs(number) > Decimal(10) ** 12:
        raise ValueError(problem)
    scaled = number * scale
    if scaled != scaled.to_integral_value():
        raise ValueError(problem)
    return int(scaled)


def _local_time(text: str, zone: ZoneInfo) -> datetime:
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not_a_time") from None
    if local.tzinfo is not None:
        return local
    return local.replace(tzinfo=zone)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def _one(values: Values, name: str) -> str:
    given = values.get(name, [])
    return given[-1] if given else ""


@dataclass(frozen=True)
class Checked:
    """A form checked as the file it makes: the campaign when it passes, else every problem."""

    text: str
    campaign: Campaign | None
    problems: list[FieldProblem]


def check(values: Values) -> Checked:
    """The form's file, validated by `parse_campaign` (the check an upload passes)."""
    raw, problems = to_raw(values)
    text = to_toml(raw)
    try:
        campaign: Campaign | None = parse_campaign(text)
    except InvalidCampaign as exc:
        return Checked(text, None, problems + exc.problems)
    return Checked(text, None if problems else campaign, problems)


# -- the file's data -> the form's values ----------------------------------------------------


def from_raw(raw: Mapping[str, Any]) -> dict[str, list[str]]:
    """A form filled in from a campaign file's data (a running version, an imported file).
    Tolerant: a value of the wrong type is shown as it is, for the check to point at."""
    zone = _zone(str(raw.get("timezone", "")))
    values: dict[str, list[str]] = {}
    for section in FORM:
        data = raw if not section.path else raw.get(section.path)
        if section.toggle:
            values[toggle_name(section)] = ["1" if isinstance(data, dict) else ""]
        if isinstance(data, dict):
            _show(values, section.path, section.fields, section.lists, data, zone)
    return values


def _show(
    values: dict[str, list[str]],
    prefix: str,
    fields: Iterable[Field],
    lists: Iterable[Rows],
    data: Mapping[str, Any],
    zone: ZoneInfo,
) -> None:
    for f in fields:
        if f.key in data:
            values[join(prefix, f.key)] = _shown(f, data[f.key], zone)
    for rows in lists:
        found = data.get(rows.key)
        for i, row in enumerate(found[:MAX_ROWS] if isinstance(found, list) else []):
            path = f"{join(prefix, rows.key)}[{i}]"
            if isinstance(row, dict):
                _show(values, path, rows.fields, rows.lists, row, zone)
            values.setdefault(f"{path}.__row", [""])  # an empty row is still a row


def _shown(f: Field, value: Any, zone: ZoneInfo) -> list[str]:
    if f.kind == "modes":
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]
    if f.kind == "numbers":
        return [", ".join(str(v) for v in value)] if isinstance(value, list) else [str(value)]
    if f.kind == "bool":
        return ["1"] if value is True else []
    if isinstance(value, bool) or not isinstance(value, (int, datetime)):
        return [str(value)]
    if isinstance(value, datetime):
        local = value.astimezone(zone) if value.tzinfo else value
        return [local.strftime("%Y-%m-%dT%H:%M" + (":%S" if local.second else ""))]
    if f.kind in ("yuan", "percent"):
        return [_hundredths(value)]
    divisor = {"minutes": 60, "hours": 3600}.get(f.kind, 1)
    whole, rest = divmod(value, divisor)
    return [str(whole) if not rest else str(Decimal(value) / divisor)]


def _hundredths(value: int) -> str:
    whole, cents = divmod(abs(value), 100)
    sign = "-" if value < 0 else ""
    return f"{sign}{whole}" if not cents else f"{sign}{whole}.{cents:02d}".rstrip("0")


# -- rows added and removed; an empty form ---------------------------------------------------


def with_row_added(values: Values, list_path: str) -> dict[str, list[str]]:
    changed = dict(values)
    count = row_count(values, list_path)
    if count < MAX_ROWS:
        changed[f"{list_path}[{count}].__row"] = [""]
    return changed


def with_row_removed(values: Values, row_path: str) -> dict[str, list[str]]:
    """Without one row (`stock.pools[1]`), the rows after it renumbered to close the gap."""
    match = re.fullmatch(r"(.+)\[(\d+)\]", row_path)
    if match is None:
        return dict(values)
    list_path, gone = match.group(1), int(match.group(2))
    prefix = list_path + "["
    changed: dict[str, list[str]] = {}
    for name, given in values.items():
        if not name.startswith(prefix):
            changed[name] = given
            continue
        number, rest = name[len(prefix) :].split("]", 1)
        if not number.isdigit() or int(number) == gone:
            continue
        at = int(number) - (int(number) > gone)
        changed[f"{prefix}{at}]{rest}"] = given
    return changed


def empty_form() -> dict[str, list[str]]:
    """A new campaign: nothing filled in but what nearly every campaign keeps."""
    return {
        "timezone": [DEFAULT_ZONE],
        "stacking.member_discount_modes": ["direct"],
        "distribution.recruitment": ["open"],
    }


# -- where a problem is shown ----------------------------------------------------------------


@dataclass
class Placed:
    """Problems by the slot that shows them: a field, a row, a list, a section or the form."""

    by_slot: dict[str, list[FieldProblem]] = field(default_factory=dict)

    def at(self, slot: str) -> list[FieldProblem]:
        return self.by_slot.get(slot, [])

    def __bool__(self) -> bool:
        return bool(self.by_slot)


def place(problems: Iterable[FieldProblem], slots: set[str]) -> Placed:
    """Each problem at the nearest slot its path names: `stock.pools[0].modes[1]` at the
    pool's modes, `distribution.volume_tiers[0]` at the row, anything unknown at the form."""
    placed = Placed()
    seen: set[tuple[str, str]] = set()
    for problem in problems:
        slot = _nearest(problem.field or "", slots)
        if (slot, problem.code or problem.message) in seen:
            continue  # a conversion problem and "missing" for the same field: say it once
        seen.add((slot, problem.code or problem.message))
        placed.by_slot.setdefault(slot, []).append(problem)
    return placed


def _nearest(path: str, slots: set[str]) -> str:
    while path and path not in slots:
        path = re.sub(r"(\[\d+\]|\.?[^.\[]+)$", "", path)
    return path


def slots_of(values: Values) -> Iterator[str]:
    """Every slot the form shows: the form's own (""), each section of the file, and each
    field, row and list of the sections switched on."""
    yield ""
    for section in FORM:
        if section.path:
            yield section.path
        if not is_on(values, section):
            continue
        yield from _slots(section.path, section.fields, section.lists, values)


def _slots(
    prefix: str, fields: Iterable[Field], lists: Iterable[Rows], values: Values
) -> Iterator[str]:
    for f in fields:
        yield join(prefix, f.key)
    for rows in lists:
        path = join(prefix, rows.key)
        yield path
        for i in range(row_count(values, path)):
            yield f"{path}[{i}]"
            yield from _slots(f"{path}[{i}]", rows.fields, rows.lists, values)


def kind_of(path: str) -> Kind | None:
    """The kind of the field a problem names, to word its numbers in the field's unit."""
    wanted = pattern(path)
    for section in FORM:
        found = _kind_in(section.path, section.fields, section.lists, wanted)
        if found is not None:
            return found
    return None


def _kind_in(
    prefix: str, fields: Iterable[Field], lists: Iterable[Rows], wanted: str
) -> Kind | None:
    for f in fields:
        if join(prefix, f.key) == wanted:
            return f.kind
    for rows in lists:
        found = _kind_in(join(prefix, rows.key), rows.fields, rows.lists, wanted)
        if found is not None:
            return found
    return None
