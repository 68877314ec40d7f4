"""Commission payouts sent through the payment provider: where a distributor is paid (their
payee), the life of one transfer, and the schedule ops set. Pure rules; the outbox, the
sender and the scheduler are I/O.

A payout is booked first (the identity stream's payout entry lowers the balance, as a
payout always did); the transfer follows. A transfer the provider refuses is returned: a
payout entry of the opposite amount puts the commission back in the balance, once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from server.errors import BadInput

PENDING, PROCESSING, SUCCEEDED, REFUSED = "pending", "processing", "succeeded", "refused"
OPEN = (PENDING, PROCESSING)

# who can be paid how: WeChat Pay's 商家转账 to the distributor's openid under the AppID
PAYEE_PROVIDERS = ("wechat",)
_OPENID = re.compile(r"^[A-Za-z0-9_-]{6,128}$")
_NAME = re.compile(r"^[\u4e00-\u9fff·A-Za-z ]{2,30}$")
NAME_NEEDED_FEN = 200_000  # WeChat asks the payee's real name from ¥2,000 a transfer
NAME_NEEDED = "name_needed: the payee's real name is needed from ¥2,000"


@dataclass(frozen=True)
class Payee:
    provider: str
    account: str  # the openid
    name: str  # the real name WeChat checks (needed from ¥2,000)


def check_payee(provider: str, account: str, name: str) -> Payee:
    if provider not in PAYEE_PROVIDERS:
        raise BadInput(f"must be one of {', '.join(PAYEE_PROVIDERS)}", "provider")
    if not _OPENID.fullmatch(account):
        raise BadInput("must be your openid (6-128 letters, digits, _ or -)", "account")
    if name and not _NAME.fullmatch(name):
        raise BadInput("must be a real name, 2-30 characters", "name")
    return Payee(provider, account, name)


# Why a refused transfer was refused, in the terms its payee can act on: WeChat's
# fail_reason (or refusal code, or ours) -> a reason of the catalogue's [payout_reason].
PAYEE_REASONS = {
    "name_needed": "name_needed",  # ours: no real name given for ¥2,000 and up
    "CANCELLED": "not_confirmed",  # the payee did not confirm within 24 hours
    "NAME_NOT_CORRECT": "name",
    "REAL_NAME_CHECK_FAIL": "name",
    "ID_CARD_NOT_CORRECT": "name",
    "ACCOUNT_FROZEN": "account",
    "ACCOUNT_NOT_EXIST": "account",
    "OPENID_INVALID": "account",
    "PAYEE_ACCOUNT_ABNORMAL": "account",
    "RECEIVE_ACCOUNT_NOT_PERMMIT": "account",
    "DAY_RECEIVED_QUOTA_EXCEED": "quota",
    "DAY_RECEIVED_COUNT_EXCEED": "quota",
    "MONTH_RECEIVED_QUOTA_EXCEED": "quota",
    "REALNAME_ACCOUNT_RECEIVED_QUOTA_EXCEED": "quota",
    "NOT_ENOUGH": "merchant",
    "PAYER_ACCOUNT_ABNORMAL": "merchant",
    "TRANSFER_QUOTA_EXCEED": "merchant",
    "MERCHANT_REJECT": "merchant",
}
_REASON_CODE = re.compile(r"^(?:WeChat Pay: )?([A-Za-z_]+)")


def refusal_reason(detail: str | None) -> str:
    """The reason a payee is shown for a refused transfer, from the detail the sender kept
    ("WeChat Pay: PAYEE_ACCOUNT_ABNORMAL", "NOT_ENOUGH: …", NAME_NEEDED); "other" when
    it is none of the known ones."""
    found = _REASON_CODE.match(detail or "")
    return PAYEE_REASONS.get(found.group(1), "other") if found else "other"


def bill_no(payout_stream_id: str) -> str:
    """The provider's id for the transfer (WeChat's out_bill_no: letters and digits only),
    from the payout's own stream position: the same payout always gets the same id."""
    return "po" + payout_stream_id.replace("-", "x")


@dataclass(frozen=True)
class Schedule:
    """Pay every distributor's balance on this weekday (0 Monday) at this time, those with
    at least `minimum_fen` and a payee."""

    on: bool
    weekday: int
    at: time
    minimum_fen: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise BadInput("a weekday, 0 (Monday) to 6 (Sunday)", "weekday")
        if not 100 <= self.minimum_fen <= 100_000_000:
            raise BadInput("from ¥1 to ¥1,000,000", "minimum_fen")


def last_slot(schedule: Schedule, now: datetime) -> datetime:
    """The latest scheduled moment at or before `now` (in now's zone)."""
    days_back = (now.weekday() - schedule.weekday) % 7
    slot = datetime.combine(now.date() - timedelta(days=days_back), schedule.at, now.tzinfo)
    return slot if slot <= now else slot - timedelta(days=7)


def due_slot(schedule: Schedule, now: datetime, last_run: str | None) -> str | None:
    """The slot to run now, named by its date, unless it already ran (or the schedule is
    off). A worker that was down at the moment runs the missed slot when it comes back."""
    if not schedule.on:
        return None
    slot = last_slot(schedule, now).date().isoformat()
    return None if slot == last_run else slot


def next_slot(schedule: Schedule, now: datetime) -> datetime:
    return last_slot(schedule, now) + timedelta(days=7)
