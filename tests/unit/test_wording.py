"""The identity line the seed describes, worded from a quote's facts."""

from __future__ import annotations

from datetime import datetime

from server.domain.campaign import parse_campaign
from server.domain.pricing import Identity, quote
from server.gateway.wording import identity_line, zhe
from tests.campaigns import CANONICAL

CAMPAIGN = parse_campaign(CANONICAL)
GROUP_PHASE = datetime.fromisoformat("2026-09-06T10:00:00+08:00")


def test_discounts_as_zhe() -> None:
    assert [zhe(bp) for bp in (500, 1000, 1150, 0, 2000)] == ["95", "9", "88.5", "10", "8"]


def test_a_member_who_distributes_and_deposited_reads_every_identity() -> None:
    who = Identity(member=CAMPAIGN.members[0], distributor_code="DABCDEFG", depositor=True)
    line = identity_line(quote(CAMPAIGN, who, GROUP_PHASE, depositor_offer_open=True))
    assert line == ["黑金会员95折", "分销员自购赚15%", "团购价¥308", "定金用户专享¥288"]


def test_a_new_viewer_reads_the_group_price_only() -> None:
    assert identity_line(quote(CAMPAIGN, Identity(), GROUP_PHASE, False)) == ["团购价¥308"]
