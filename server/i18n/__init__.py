"""The one zh-CN message catalogue (zh-CN.toml): every word a person reads.

`t("errors.sold_out")` renders one message; `sections("live", "errors")` hands a page's
script what it needs. A key the catalogue lacks is a bug, so `t` raises rather than show a
viewer a key or an English fallback.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


@cache
def catalogue() -> dict[str, dict[str, str]]:
    text = resources.files("server.i18n").joinpath("zh-CN.toml").read_text("utf-8")
    loaded: dict[str, dict[str, str]] = tomllib.loads(text)
    return loaded


def t(key: str, **values: Any) -> str:
    section, _, name = key.partition(".")
    return catalogue()[section][name].format(**values)


def has(key: str) -> bool:
    section, _, name = key.partition(".")
    return name in catalogue().get(section, {})


def sections(*names: str) -> dict[str, dict[str, str]]:
    return {name: catalogue()[name] for name in names}


def yuan(fen: int) -> str:
    """Fen as yuan the way a price tag reads: 29800 -> "298", 29850 -> "298.50"."""
    whole, cents = divmod(fen, 100)
    return f"{whole}" if cents == 0 else f"{whole}.{cents:02d}"
