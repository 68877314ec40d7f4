"""The payment provider's interface, as the worker's refund sender uses it. Each provider
(the sandbox here; WeChat Pay and Alipay through their SDKs) is one adapter behind it.

A refund is asked under its own id (domain/refunds.refund_id); every provider keeps a refund
once by that id, so asking again after a crash returns the first answer and moves no money."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RefundAsk:
    refund_id: str
    payment_id: str
    amount_fen: int
    payment_fen: int  # what the payment took (providers want the total beside the part)
    reason: str


@dataclass(frozen=True)
class RefundAnswer:
    state: str  # processing | succeeded | refused (domain/refunds.py)
    provider_ref: str = ""  # the provider's own id for the refund
    detail: str = ""  # why it was refused, in the provider's words


@dataclass(frozen=True)
class PaymentNotice:
    """A provider's verified word that a payment went through (or did not)."""

    payment_id: str
    amount_fen: int
    status: str  # succeeded | failed
    transaction_id: str  # the provider's own id for it


@dataclass(frozen=True)
class RefundNotice:
    """A provider's verified word on a refund it was working on."""

    refund_id: str
    answer: RefundAnswer


class BadNotice(ValueError):
    """Not a notification from the provider (signature, time or content)."""


class ProviderUnavailable(Exception):
    """No answer this time (down, slow, a 5xx): ask again later, under the same id."""


@dataclass(frozen=True)
class PaymentState:
    """What the provider says of a payment we have heard nothing about."""

    paid: bool
    amount_fen: int = 0
    transaction_id: str = ""
    closed: bool = False  # it can no longer be paid


class FollowsPayments(Protocol):
    """A provider that can be asked about a payment and told to close it (WeChat Pay,
    Alipay; the generic webhook cannot)."""

    name: str

    async def payment_state(self, payment_id: str) -> PaymentState: ...

    async def close_payment(self, payment_id: str) -> None: ...


class PaymentProvider(Protocol):
    name: str

    async def refund(self, ask: RefundAsk) -> RefundAnswer: ...

    async def refund_status(self, ask: RefundAsk) -> RefundAnswer: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class TransferAsk:
    """A payout sent to a distributor, under its own id (domain/payouts.bill_no)."""

    bill_no: str
    account: str  # the payee's openid
    name: str  # their real name ("" when not given)
    amount_fen: int
    remark: str


@dataclass(frozen=True)
class TransferAnswer:
    state: str  # pending (never reached) | processing | succeeded | refused
    provider_ref: str = ""
    detail: str = ""
    confirm: str = ""  # WeChat's package_info when the payee must confirm receipt


class TransfersPayouts(Protocol):
    """A provider that can send money to a person (WeChat Pay's 商家转账)."""

    name: str

    async def transfer(self, ask: TransferAsk) -> TransferAnswer: ...

    async def transfer_status(self, ask: TransferAsk) -> TransferAnswer: ...
