"""The console's pure parts: the campaign form is the campaign file by another road (the
same campaign, or the same problems), each problem lands at its field in Chinese, rows
renumber, roles hold exactly their permissions, CSV money is exact."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.console import campaign_form as form
from server.console.csv_export import money
from server.console.wording import known_codes, problem_text
from server.domain.campaign import parse_campaign
from server.domain.roles import ROLES, allowed, permissions_of
from server.errors import FieldProblem, InvalidCampaign
from tests.campaigns import CANONICAL

SHIPPED = tomllib.loads(CANONICAL)
CAMPAIGN_SOURCE = Path(__file__).resolve().parents[2] / "server" / "domain" / "campaign.py"


def outcome(text: str) -> tuple[Any, set[tuple[str | None, str | None]]]:
    try:
        return parse_campaign(text), set()
    except InvalidCampaign as exc:
        return None, {(p.field, p.code) for p in exc.problems}


def test_the_canonical_campaign_goes_through_the_form_unchanged() -> None:
    checked = form.check(form.from_raw(SHIPPED))
    assert checked.problems == []
    assert checked.campaign == parse_campaign(CANONICAL)


def test_a_campaign_without_presale_and_group_goes_through_the_form() -> None:
    raw = {k: v for k, v in SHIPPED.items() if k not in ("presale", "group", "depositor_group")}
    raw["stock"] = {
        "pools": [{"name": "all", "kind": "shared", "modes": ["direct"], "share_pct": 100}]
    }
    raw["stacking"] = {"member_discount_modes": ["direct"]}
    values = form.from_raw(raw)
    assert values["on.presale"] == [""] and values["on.group"] == [""]
    checked = form.check(values)
    assert checked.campaign is not None, checked.problems
    assert checked.campaign.modes == ("direct",)


# Edits an operator makes, good and bad: the form must agree with the file about each.
EDITS = st.fixed_dictionaries(
    {
        "deposit": st.integers(0, 40_000),
        "presale_share": st.integers(0, 120),
        "tier_price": st.integers(1, 40_000),
        "level1": st.integers(0, 6_000),
        "capacity": st.integers(0, 200),
        "discount": st.integers(0, 10_000),
    }
)


def edited(edits: dict[str, int]) -> dict[str, Any]:
    raw: dict[str, Any] = tomllib.loads(CANONICAL)
    raw["presale"]["deposit_fen"] = edits["deposit"]
    raw["stock"]["pools"][0]["share_pct"] = edits["presale_share"]
    raw["group"]["tiers"][1]["price_fen"] = edits["tier_price"]
    raw["distribution"]["level1_rate_bp"] = edits["level1"]
    raw["group"]["capacity"] = edits["capacity"]
    raw["members"][0]["discount_bp"] = edits["discount"]
    return raw


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EDITS)
def test_the_form_and_the_file_agree_on_every_edit(edits: dict[str, int]) -> None:
    raw = edited(edits)
    by_file = outcome(tomli_w.dumps(raw))
    checked = form.check(form.from_raw(raw))
    assert checked.campaign == by_file[0]
    assert {(p.field, p.code) for p in checked.problems} == by_file[1]


@settings(max_examples=40, deadline=None)
@given(EDITS)
def test_every_problem_is_shown_at_a_slot_of_the_form_in_chinese(edits: dict[str, int]) -> None:
    values = form.from_raw(edited(edits))
    checked = form.check(values)
    placed = form.place(checked.problems, set(form.slots_of(values)))
    shown = [p for slot in placed.by_slot.values() for p in slot]
    assert {(p.field, p.code) for p in shown} == {(p.field, p.code) for p in checked.problems}
    for slot, problems in placed.by_slot.items():
        for problem in problems:
            assert problem.field is None or problem.field.startswith(slot)
            text = problem_text(problem)
            assert re.search(r"[\u4e00-\u9fff]", text), text
            assert text != problem_text(FieldProblem(None, "?", "no-such-code")), problem


def test_every_code_the_campaign_rules_give_has_its_sentence() -> None:
    source = CAMPAIGN_SOURCE.read_text()
    codes = set(re.findall(r'FieldProblem\(\s*[^;]*?,\s*[^;]*?,\s*"([a-z_]+)"', source, re.S))
    assert len(codes) >= 15
    assert codes <= known_codes(), codes - known_codes()


def test_a_limit_is_said_in_the_unit_of_its_field() -> None:
    below = FieldProblem("presale.deposit_fen", "too small", "greater_than", {"gt": 0})
    percent = FieldProblem(
        "distribution.level1_rate_bp", "too big", "less_than_equal", {"le": 5000}
    )
    assert "0 元" in problem_text(below)
    assert "50%" in problem_text(percent)


def test_rows_are_added_and_removed_with_the_rest_renumbered() -> None:
    values = form.from_raw(SHIPPED)
    assert form.row_count(values, "stock.pools") == 3
    fewer = form.with_row_removed(values, "stock.pools[0]")
    assert form.row_count(fewer, "stock.pools") == 2
    assert fewer["stock.pools[0].name"] == ["group"]
    assert fewer["stock.pools[1].borrow[0].from"] == ["group"]
    more = form.with_row_added(fewer, "stock.pools")
    assert form.row_count(more, "stock.pools") == 3
    assert more["stock.pools[2].__row"] == [""]


def test_the_empty_form_says_what_is_missing_without_crashing() -> None:
    checked = form.check(form.empty_form())
    assert checked.campaign is None
    assert {p.field for p in checked.problems} >= {"id", "name", "sku.id", "sku.total_units"}


def test_each_role_holds_exactly_its_permissions() -> None:
    assert permissions_of("admin") == permissions_of("admin") | permissions_of("operator")
    assert permissions_of("screen") == {"screen.watch"}
    assert not allowed("finance", "campaign.edit") and allowed("finance", "reconcile.run")
    assert not allowed("operator", "payouts.decide") and not allowed("operator", "users.manage")
    assert all(allowed(role, "screen.watch") for role in ROLES)
    assert not allowed("nobody", "campaign.view")


def test_csv_money_is_exact_yuan() -> None:
    assert [money(f) for f in (0, 5, 36_800, 123_456_789, -250)] == [
        "0.00",
        "0.05",
        "368.00",
        "1234567.89",
        "-2.50",
    ]
