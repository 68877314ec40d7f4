from __future__ import annotations

import pytest

from server.domain.campaign import parse_campaign
from server.domain.lifecycle import expected_kept_fen, next_stage, stage_amount_fen, status_after
from server.domain.pricing import reached_tier
from server.payments.signature import BadSignature, sign, verify
from tests.campaigns import CANONICAL

CAMPAIGN = parse_campaign(CANONICAL)


def test_stages_follow_the_mode_and_status() -> None:
    assert next_stage("presale", "awaiting_payment") == "deposit"
    assert next_stage("presale", "awaiting_balance") == "balance"
    assert next_stage("group", "awaiting_payment") == "full"
    assert next_stage("direct", "paid") is None
    assert status_after("deposit") == "awaiting_balance" and status_after("balance") == "paid"


def test_stage_amounts() -> None:
    assert stage_amount_fen(CAMPAIGN, "deposit", 2, 10_000) == 10_000
    assert stage_amount_fen(CAMPAIGN, "balance", 2, 10_000) == 2 * 24_800
    assert stage_amount_fen(CAMPAIGN, "full", 1, 36_800) == 36_800


@pytest.mark.parametrize(
    ("status", "paid", "kept"),
    [
        ("paid", 36800, 36800),
        ("forfeited", 5000, 5000),
        ("expired", 36800, 0),
        ("group_failed", 32800, 0),
        ("refunded", 36800, 0),
        ("completed", 36800, 36800),
    ],
)
def test_what_the_merchant_keeps(status: str, paid: int, kept: int) -> None:
    assert expected_kept_fen({"status": status, "paid_fen": paid, "qty": 1}) == kept


def test_a_group_order_keeps_the_price_its_group_reached() -> None:
    order = {"status": "paid", "paid_fen": 2 * 32800, "qty": 2, "final_unit_price_fen": 30800}
    assert expected_kept_fen(order) == 2 * 30800


def test_group_tiers_by_paid_headcount() -> None:
    assert reached_tier(CAMPAIGN, 2) is None
    tier = reached_tier(CAMPAIGN, 3)
    assert tier is not None and tier.price_fen == 32_800
    tier = reached_tier(CAMPAIGN, 25)
    assert tier is not None and tier.price_fen == 30_800


def test_signature_round_trip_and_refusals() -> None:
    body = b'{"payment_id":"x","amount_fen":1,"status":"succeeded"}'
    header = sign("s" * 20, body, timestamp=1_000_000)
    verify("s" * 20, header, body, now=1_000_100)
    for secret, raw, now in (
        ("t" * 20, body, 1_000_100),
        ("s" * 20, body + b" ", 1_000_100),
        ("s" * 20, body, 1_000_000 + 301),
        ("s" * 20, body, 1_000_000 - 301),
    ):
        with pytest.raises(BadSignature):
            verify(secret, header, raw, now=now)
    for broken in ("", "t=abc,v1=00", "v1=00", "t=1000000"):
        with pytest.raises(BadSignature):
            verify("s" * 20, broken, body, now=1_000_000)
