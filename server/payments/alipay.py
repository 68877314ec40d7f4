"""Alipay's open platform through `python-alipay-sdk`: the SDK signs every request (RSA2),
checks every answer's signature with Alipay's public key and verifies notifications. This
module maps our payments and refunds onto its calls and the answers back. The SDK is
synchronous (urllib), so each call runs in a thread.

As with WeChat Pay, the payment's token is the out_trade_no (Alipay allows letters, digits
and underscores only) and the payment id's keyspace (its campaign's id or stock bucket's)
rides in `passback_params`, which the notification returns. Alipay counts money in yuan
strings ("368.00"); we convert at this edge only."""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote
from zoneinfo import ZoneInfo

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError

from server.domain import refunds as rules
from server.domain.statements import BillLine
from server.payments.alipay_config import AlipayConfig
from server.payments.bills import alipay_lines
from server.payments.money import fen_of, yuan
from server.payments.providers import (
    BadNotice,
    PaymentNotice,
    PaymentState,
    ProviderUnavailable,
    RefundAnswer,
    RefundAsk,
)

log = logging.getLogger("liveroom.alipay")

NOTICE_TOLERANCE_S = 600  # notify_time is when Alipay sent it; older is a replay
_BEIJING = ZoneInfo("Asia/Shanghai")
_PAID = ("TRADE_SUCCESS", "TRADE_FINISHED")


def trade_no(payment_id: str) -> str:
    return payment_id.partition("~")[2]


class Alipay:
    """One app; a PaymentProvider for refunds, and checkout and notifications for the
    gateway."""

    name = "alipay"

    def __init__(self, config: AlipayConfig, notify_url: str) -> None:
        self._config = config
        self._sdk = AliPay(
            appid=config.appid,
            app_notify_url=notify_url,
            app_private_key_string=config.private_key,
            alipay_public_key_string=config.alipay_public_key,
            sign_type="RSA2",
        )
        # The SDK fixes the official gateway (or its sandbox); a stand-in (tests) is named here.
        self._sdk._gateway = config.gateway

    async def close(self) -> None:
        return None

    # -- checkout ------------------------------------------------------------------------

    def checkout(self, payment: Mapping[str, Any], subject: str) -> dict[str, str]:
        """The mobile-web cashier's address for this payment (signed, nothing sent yet):
        the live room's page goes there; Alipay notifies the gateway when it is paid."""
        signed = self._sdk.api_alipay_trade_wap_pay(
            subject=subject[:256],
            out_trade_no=trade_no(payment["id"]),
            total_amount=yuan(payment["amount_fen"]),
            passback_params=quote(payment["id"].partition("~")[0]),  # its keyspace
        )
        return {"kind": "wap", "url": f"{self._config.gateway}?{signed}"}

    # -- notifications -------------------------------------------------------------------

    def decode(self, body: bytes, now: float | None = None) -> PaymentNotice:
        """A verified trade notification (form-encoded); BadNotice for anything else."""
        try:
            fields = dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            raise BadNotice("not a form") from None
        signature = fields.pop("sign", "")
        try:
            verified = bool(signature) and self._sdk.verify(dict(fields), signature)
        except (AliPayException, ValueError, TypeError):
            verified = False
        if not verified:
            raise BadNotice("signature does not verify")
        if fields.get("app_id") != self._config.appid:
            raise BadNotice("for another app")
        try:
            sent = datetime.strptime(fields["notify_time"], "%Y-%m-%d %H:%M:%S")
            at = sent.replace(tzinfo=_BEIJING).timestamp()
        except (KeyError, ValueError):
            raise BadNotice("notify_time missing") from None
        if abs((time.time() if now is None else now) - at) > NOTICE_TOLERANCE_S:
            raise BadNotice("notify_time outside the tolerance")
        try:
            keyspace = unquote(fields["passback_params"])
            return PaymentNotice(
                payment_id=f"{keyspace}~{fields['out_trade_no']}",
                amount_fen=fen_of(fields["total_amount"]),
                status="succeeded" if fields["trade_status"] in _PAID else "failed",
                transaction_id=fields.get("trade_no", ""),
            )
        except (KeyError, ValueError) as exc:
            raise BadNotice(f"missing {exc}") from None

    # -- following a payment (FollowsPayments) -------------------------------------------

    async def payment_state(self, payment_id: str) -> PaymentState:
        try:
            found = await self._call(
                lambda: self._sdk.api_alipay_trade_query(out_trade_no=trade_no(payment_id))
            )
        except _Refused as refused:
            if refused.detail.startswith("ACQ.TRADE_NOT_EXIST"):  # the cashier never opened
                return PaymentState(paid=False)
            raise ProviderUnavailable(f"query: {refused.detail}") from None
        status = found.get("trade_status")
        return PaymentState(
            paid=status in _PAID,
            amount_fen=fen_of(str(found.get("total_amount", "0"))),
            transaction_id=str(found.get("trade_no", "")),
            closed=status == "TRADE_CLOSED",
        )

    async def close_payment(self, payment_id: str) -> None:
        try:
            await self._call(
                lambda: self._sdk.api_alipay_trade_close(out_trade_no=trade_no(payment_id))
            )
        except _Refused as refused:
            if not refused.detail.startswith("ACQ.TRADE_NOT_EXIST"):  # nothing to close
                raise ProviderUnavailable(f"close: {refused.detail}") from None

    # -- refunds (PaymentProvider) -------------------------------------------------------

    async def refund(self, ask: RefundAsk) -> RefundAnswer:
        try:
            found = await self._call(
                lambda: self._sdk.api_alipay_trade_refund(
                    refund_amount=yuan(ask.amount_fen),
                    out_trade_no=trade_no(ask.payment_id),
                    out_request_no=ask.refund_id,  # a partial refund's id: kept once by it
                    refund_reason=ask.reason[:80],
                )
            )
        except _Refused as refused:
            return RefundAnswer(rules.REFUSED, "", refused.detail)
        # code 10000: done (Alipay refunds at once); fund_change N only on a repeat
        return RefundAnswer(rules.SUCCEEDED, str(found.get("trade_no", "")), "")

    async def refund_status(self, ask: RefundAsk) -> RefundAnswer:
        try:
            found = await self._call(
                lambda: self._sdk.api_alipay_trade_fastpay_refund_query(
                    out_request_no=ask.refund_id, out_trade_no=trade_no(ask.payment_id)
                )
            )
        except _Refused as refused:
            return RefundAnswer(rules.REFUSED, "", refused.detail)
        if not found.get("refund_amount"):  # no such refund: it never reached Alipay
            return RefundAnswer(rules.PENDING)
        done = found.get("refund_status", "REFUND_SUCCESS") == "REFUND_SUCCESS"
        state = rules.SUCCEEDED if done else rules.PROCESSING
        return RefundAnswer(state, str(found.get("trade_no", "")), "")

    # -- the day's statement --------------------------------------------------------------

    async def statement(self, day: date) -> list[BillLine]:
        """The trade bill of that day: its download address asked for, the zip fetched."""
        try:
            found = await self._call(
                lambda: self._sdk.server_api(
                    "alipay.data.dataservice.bill.downloadurl.query",
                    {"bill_type": "trade", "bill_date": day.isoformat()},
                )
            )
        except _Refused as refused:
            raise ProviderUnavailable(f"bill: {refused.detail}") from None
        url = str(found.get("bill_download_url", ""))
        if not url.startswith(("https://", "http://")):
            raise ProviderUnavailable("bill: no download address")
        try:
            content = await asyncio.to_thread(_download, url)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ProviderUnavailable(f"bill download: {exc}") from None
        return alipay_lines(content)

    async def _call(self, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        try:
            found = await asyncio.to_thread(call)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ProviderUnavailable(f"{exc.__class__.__name__}: {exc}") from None
        except AliPayValidationError:
            raise ProviderUnavailable("an answer whose signature does not verify") from None
        except AliPayException as exc:
            raise ProviderUnavailable(str(exc)[:160]) from None
        code = str(found.get("code", ""))
        if code == "10000":
            return found
        if code in ("20000", "20001"):  # service busy, or our credentials: try later
            raise ProviderUnavailable(f"{code} {found.get('sub_code')}")
        raise _Refused(f"{found.get('sub_code') or code}: {found.get('sub_msg') or ''}")


class _Refused(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as answer:
        body: bytes = answer.read()
    return body
