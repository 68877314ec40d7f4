"""The pages' files and their Jinja2 environment: templates beside this module (never served
as files), static files (scripts, styles, vendored libraries) under dashboard/. Every word
comes from the zh-CN catalogue (`t`); a page's script gets the sections it needs as JSON."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from starlette.templating import Jinja2Templates

from server.domain.attribution import channel_of
from server.domain.privacy import mask_user
from server.i18n import has, sections, t, yuan


def pages_dir() -> Path:
    """dashboard/: packaged inside `server` in a wheel, at the top of a checkout."""
    packaged = Path(__file__).resolve().parents[1] / "dashboard"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "dashboard"


def local_time(ms: int, timezone: str, pattern: str = "%m月%d日 %H:%M") -> str:
    return datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(timezone)).strftime(pattern)


def pct(fraction: float) -> str:
    """0.4567 -> "45.7%"."""
    return f"{fraction * 100:.1f}%"


def zoned(moment: datetime, timezone: str, pattern: str = "%m月%d日 %H:%M") -> str:
    """A moment as a person in the campaign's zone reads it."""
    return moment.astimezone(ZoneInfo(timezone)).strftime(pattern)


@cache
def templates() -> Jinja2Templates:
    found = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
    found.env.globals.update(
        t=t,
        has=has,
        yuan=yuan,
        pct=pct,
        channel_of=channel_of,
        messages=sections,
        local_time=local_time,
        zoned=zoned,
        mask_user=mask_user,
    )
    return found


def page_data(**values: Any) -> dict[str, Any]:
    """What a page hands its script (rendered with `tojson` into a JSON data block)."""
    return values
