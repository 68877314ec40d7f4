"""Campaign files as data: written from a dict (tomli-w), and edited (a window moved) by a
round trip through the parsed file. Comments do not survive an edit; every field does."""

from __future__ import annotations

import re
import tomllib
from datetime import datetime
from typing import Any

import tomli_w


def to_toml(raw: dict[str, Any]) -> str:
    return tomli_w.dumps(raw)


def with_window(text: str, section: str, opens: datetime, closes: datetime) -> str:
    raw = tomllib.loads(text)
    raw[section]["opens_at"] = opens
    raw[section]["closes_at"] = closes
    return to_toml(raw)


def scaled_units(parts: list[int], total: int) -> list[int]:
    """`parts` rescaled to add up to `total`, by largest remainder (ties: the first)."""
    whole_before = sum(parts) or 1
    exact = [total * part for part in parts]
    units = [e // whole_before for e in exact]
    by_remainder = sorted(range(len(parts)), key=lambda i: (-(exact[i] % whole_before), i))
    for i in by_remainder[: total - sum(units)]:
        units[i] += 1
    return units


_WAREHOUSE_UNITS = re.compile(r"^units = (\d+)$", re.MULTILINE)


def with_total_units(text: str, total: int) -> str:
    """The canonical file's layout with another SKU size: its warehouses (one `units = N`
    line each) rescaled to hold exactly that many. Comments survive."""
    text = re.sub(r"^total_units = \d+", f"total_units = {total}", text, count=1, flags=re.M)
    scaled = iter(scaled_units([int(n) for n in _WAREHOUSE_UNITS.findall(text)], total))
    return _WAREHOUSE_UNITS.sub(lambda _: f"units = {next(scaled)}", text)


def with_buckets(text: str, k: int) -> str:
    """The campaign with its stock split over k buckets (domain/buckets.py)."""
    raw = tomllib.loads(text)
    raw["stock"]["buckets"] = k
    return to_toml(raw)
