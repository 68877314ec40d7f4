"""Campaign files as data: written from a dict (tomli-w), and edited (a window moved) by a
round trip through the parsed file. Comments do not survive an edit; every field does."""

from __future__ import annotations

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
