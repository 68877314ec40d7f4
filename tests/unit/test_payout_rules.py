"""Why a refused commission transfer was refused, as its payee is told: the sender's detail
(WeChat's fail_reason, a refusal code, or ours) read into a reason the catalogue words."""

from __future__ import annotations

import pytest

from server.domain.payouts import NAME_NEEDED, PAYEE_REASONS, refusal_reason
from server.i18n import catalogue


@pytest.mark.parametrize(
    ("detail", "reason"),
    [
        ("WeChat Pay: PAYEE_ACCOUNT_ABNORMAL", "account"),
        ("WeChat Pay: CANCELLED", "not_confirmed"),
        ("WeChat Pay: NAME_NOT_CORRECT", "name"),
        ("WeChat Pay: DAY_RECEIVED_QUOTA_EXCEED", "quota"),
        ("NOT_ENOUGH: 商户运营账户资金不足", "merchant"),
        (NAME_NEEDED, "name_needed"),
        ("WeChat Pay: SOMETHING_NEW", "other"),
        ("", "other"),
        (None, "other"),
        ("provider_unavailable: ReadTimeout", "other"),
    ],
)
def test_a_refusal_reads_as_a_reason_the_payee_can_act_on(detail: str | None, reason: str) -> None:
    assert refusal_reason(detail) == reason


def test_every_reason_has_its_chinese_words() -> None:
    worded = catalogue()["payout_reason"]
    assert {*PAYEE_REASONS.values(), "other"} == set(worded)
