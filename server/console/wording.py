"""A campaign problem in the operator's words: the catalogue's sentence for its code, its
numbers in the unit of the field it names (yuan, %, minutes), never the English that the
API answers with."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from server.console.campaign_form import Kind, kind_of
from server.errors import FieldProblem
from server.i18n import catalogue, has, t, yuan

_LIMITS = ("gt", "ge", "lt", "le")


def problem_text(problem: FieldProblem) -> str:
    kind = kind_of(problem.field) if problem.field else None
    params = {k: _in_unit(v, kind) if k in _LIMITS else v for k, v in problem.params.items()}
    key = f"campaign_problems.{problem.code}"
    if problem.code == "one_pool":
        params["mode"] = (
            t(f"mode.{params.get('mode', '')}") if has(f"mode.{params.get('mode')}") else ""
        )
    if has(key):
        try:
            return t(key, **params)
        except (KeyError, IndexError, ValueError):
            pass
    return t("campaign_problems.other")


def _in_unit(value: Any, kind: Kind | None) -> str:
    if not isinstance(value, (int, float)):
        return str(value)
    number = int(value)
    if kind == "yuan":
        return t("console.yuan_amount", amount=yuan(number))
    if kind == "percent":
        return f"{Decimal(number) / 100}%"
    if kind == "minutes":
        return t("console.minutes", n=Decimal(number) / 60)
    if kind == "hours":
        return t("console.hours", n=Decimal(number) / 3600)
    return str(number)


def known_codes() -> set[str]:
    return set(catalogue()["campaign_problems"])
