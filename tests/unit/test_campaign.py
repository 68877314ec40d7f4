from __future__ import annotations

import pytest

from server.domain.campaign import parse_campaign
from server.errors import InvalidCampaign
from tests.campaigns import CANONICAL, campaign_text


def problems_of(text: str) -> dict[str | None, str]:
    with pytest.raises(InvalidCampaign) as caught:
        parse_campaign(text)
    return {p.field: p.message for p in caught.value.problems}


def test_canonical_campaign_matches_the_spec() -> None:
    c = parse_campaign(CANONICAL)
    assert (c.id, c.brand, c.name, c.sku.name) == (
        "mid-autumn",
        "麦田日记",
        "中秋家宴",
        "流心奶黄月礼盒",
    )
    assert c.sku.total_units == 10_000 and c.sku.daily_price_fen == 36_800
    p = c.presale_rules
    assert (p.deposit_fen, p.balance_fen, p.price_fen) == (5_000, 24_800, 29_800)
    assert [(t.min_members, t.price_fen) for t in c.group_rules.tiers] == [
        (3, 32_800),
        (10, 30_800),
    ]
    assert c.offer_rules.price_fen == 28_800
    assert c.distribution is not None
    assert (c.distribution.level1_rate_bp, c.distribution.level2_rate_bp) == (1500, 500)
    assert c.members[0].name == "黑金会员" and c.members[0].discount_bp == 500
    assert c.pool_units() == {"presale": 2000, "group": 5000, "distribution": 3000}


def test_pool_units_share_by_largest_remainder_and_add_up() -> None:
    c = parse_campaign(campaign_text(total_units=7))
    units = c.pool_units()
    assert sum(units.values()) == 7
    # 20% of 7 = 1.4, 50% = 3.5, 30% = 2.1: the one leftover unit goes to the largest remainder.
    assert units == {"presale": 1, "group": 4, "distribution": 2}


def test_presale_reserve_returns_when_presale_closes() -> None:
    c = parse_campaign(CANONICAL)
    presale_pool = c.stock.pools[0]
    assert presale_pool.returns_to == "group"
    assert c.return_time(presale_pool) == c.presale_rules.closes_at


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("daily_price_fen = 36800", "daily_price_fen = -1", "sku.daily_price_fen"),
        ("daily_price_fen = 36800", 'daily_price_fen = "368"', "sku.daily_price_fen"),
        ("total_units = 10000", "total_units = 0", "sku.total_units"),
        ('id = "mid-autumn"', 'id = "Mid Autumn!"', "id"),
        ("price_fen = 29800", "price_fen = 30000", "presale.price_fen"),
        (
            "pay_within_s = 900                # deposit",
            "pay_within_s = 0 #",
            "presale.pay_within_s",
        ),
        (
            "closes_at = 2026-09-06T00:00:00+08:00",
            "closes_at = 2026-08-01T00:00:00+08:00",
            "presale.closes_at",
        ),
        ("min_members = 10", "min_members = 2", "group.tiers[1].min_members"),
        ("price_fen = 30800", "price_fen = 33000", "group.tiers[1].price_fen"),
        ("capacity = 100", "capacity = 5", "group.capacity"),
        ("level1_rate_bp = 1500", "level1_rate_bp = 20000", "distribution.level1_rate_bp"),
        ("discount_bp = 500", "discount_bp = -5", "members[0].discount_bp"),
        (
            'member_discount_modes = ["direct"]',
            'member_discount_modes = ["flash"]',
            "stacking.member_discount_modes[0]",
        ),
        ("share_pct = 20", "share_pct = 25", "stock.pools"),
        ('from = "distribution"', 'from = "nowhere"', "stock.pools[1].borrow[0].from"),
        ('returns_to = "group"', 'returns_to = "presale"', "stock.pools[0].returns_to"),
        ('kind = "reserve"', 'kind = "hoard"', "stock.pools[0].kind"),
        ('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"', "timezone"),
        ("auto_complete = false", "auto_complete = false\nsurprise = 1", "group.surprise"),
        ("floor = 1000", "floor = -1", "stock.pools[1].borrow[0].floor"),
        ("floor = 1000", "floor = 1" + "0" * 29, "stock.pools[1].borrow[0].floor"),
        ("floor = 1000", "floor = 1e29", "stock.pools[1].borrow[0].floor"),
        (
            "min_units = 200",
            "min_units = 99999999999999999999",
            "distribution.volume_tiers[0].min_units",
        ),
        ('returns_to = "group"', 'returns_to = "Group Pool!"', "stock.pools[0].returns_to"),
    ],
)
def test_every_bad_field_is_named_by_its_path(old: str, new: str, field: str) -> None:
    assert old in CANONICAL
    problems = problems_of(CANONICAL.replace(old, new, 1))
    assert field in problems, problems


def test_all_problems_are_reported_at_once() -> None:
    text = CANONICAL.replace("price_fen = 29800", "price_fen = 1").replace(
        "capacity = 100", "capacity = 5"
    )
    assert {"presale.price_fen", "group.capacity"} <= set(problems_of(text))


def test_toml_syntax_error_names_no_field_but_says_where() -> None:
    problems = problems_of("id = \n")
    assert list(problems) == [None]
    assert "line 1" in problems[None]


def test_a_mode_must_belong_to_exactly_one_pool() -> None:
    text = CANONICAL.replace('modes = ["direct"]', 'modes = ["group"]')
    with pytest.raises(InvalidCampaign) as caught:
        parse_campaign(text)
    messages = {p.message for p in caught.value.problems if p.field == "stock.pools"}
    assert messages == {
        "mode 'group' must be in exactly one pool",
        "mode 'direct' must be in exactly one pool",
    }


def test_returns_that_form_a_cycle_are_refused() -> None:
    """presale -> group -> presale would strand unsold units in a closed pool."""
    text = CANONICAL.replace("share_pct = 50\n", 'share_pct = 50\nreturns_to = "presale"\n', 1)
    assert 'returns_to = "presale"' in text
    problems = problems_of(text)
    assert problems.get("stock.pools[0].returns_to") == "returns form a cycle", problems
    assert problems.get("stock.pools[1].returns_to") == "returns form a cycle", problems


def test_a_file_nested_thousands_deep_is_refused_not_crashed() -> None:
    problems = problems_of("id = " + "[" * 5000 + "]" * 5000 + "\n")
    assert problems == {None: "nested too deeply"}


def test_any_mode_may_be_left_out_but_not_all() -> None:
    """A group-buy-only campaign: no presale, no direct sales, no depositor offer, no
    distribution; its one pool holds everything."""
    text = (
        CANONICAL.split("[presale]")[0]
        + "[group]"
        + CANONICAL.split("[group]")[1].split("[depositor_group]")[0]
        + "[stock]\n[[stock.pools]]\n"
        + 'name = "all"\nkind = "shared"\nmodes = ["group"]\nshare_pct = 100\n'
    )
    campaign = parse_campaign(text)
    assert campaign.modes == ("group",)
    assert campaign.presale is None and campaign.distribution is None
    assert campaign.pool_units() == {"all": 10_000}
    nothing = (
        text.split("[group]")[0]
        + "[stock]\n[[stock.pools]]\n"
        + ('name = "all"\nkind = "shared"\nmodes = ["group"]\nshare_pct = 100\n')
    )
    problems = problems_of(nothing)
    assert problems[None] == "sell in at least one mode: presale, group or direct"
    assert "stock.pools[0].modes[0]" in problems  # a pool for a mode not sold


def test_a_depositor_offer_needs_presale_and_group() -> None:
    without_presale = CANONICAL.split("[presale]")[0] + "[group]" + CANONICAL.split("[group]", 1)[1]
    without_presale = without_presale.replace('modes = ["presale"]', 'modes = ["direct"]', 1)
    assert "depositor_group" in problems_of(without_presale)
