"""A notice's words, from the zh-CN catalogue (server/i18n), with money as yuan."""

from __future__ import annotations

from server.domain.notices import Notice
from server.i18n import t, yuan


def render(notice: Notice) -> str:
    values = dict(notice.params)
    shown = {
        name.removesuffix("_fen"): yuan(int(value)) if name.endswith("_fen") else value
        for name, value in values.items()
    }
    if "carrier" in values:
        shown["carrier"] = t(f"carrier.{values['carrier']}") if values["carrier"] else ""
    return t(f"notice.{_variant(notice.kind, values)}", **shown)


def _variant(kind: str, values: dict[str, str | int]) -> str:
    """The wording that fits: a formed group with nothing to refund says so differently."""
    if kind == "group_formed" and not values.get("refund_fen"):
        return "group_formed_same_price"
    if kind == "group_failed" and not values.get("refund_fen"):
        return "group_failed_unpaid"
    if kind in ("shipped", "delivered") and not values.get("tracking_no"):
        return f"{kind}_untracked"  # ops moved it without a tracking number
    return kind
