"""WeChat Pay API v3 through the `wechatpayv3` SDK: the SDK signs every request with the
merchant key, checks every answer's signature with the platform public key, and verifies
and decrypts notifications (AES-256-GCM under the APIv3 key). This module only maps our
payments and refunds onto the API and its answers back.

Our payment id is "<keyspace>~<token>" (its order's keyspace: the campaign's id, or a stock
bucket's "<campaign>@<n>"); WeChat's out_trade_no allows no "~", so the token is the
out_trade_no and the keyspace rides in `attach`, which every notification returns."""

from __future__ import annotations

import gzip
import logging
import secrets
import time
from collections.abc import Mapping
from datetime import date
from typing import Any

import httpx
import orjson
from wechatpayv3.async_ import AsyncWeChatPay
from wechatpayv3.async_.type import WeChatPayType

from server.domain import payouts as payout_rules
from server.domain import refunds as rules
from server.domain.statements import BillLine
from server.payments.bills import wechat_lines
from server.payments.providers import (
    BadNotice,
    PaymentNotice,
    PaymentState,
    ProviderUnavailable,
    RefundAnswer,
    RefundAsk,
    RefundNotice,
    TransferAnswer,
    TransferAsk,
)
from server.payments.wechat_config import WeChatPayConfig

log = logging.getLogger("liveroom.wechatpay")

NOTICE_TOLERANCE_S = 300  # a notification signed longer ago than this is a replay
# 商家转账 as 佣金报酬 (scene 1005), with the report WeChat asks of that scene
TRANSFER_SCENE = "1005"
TRANSFER_REPORT = [
    {"info_type": "岗位类型", "info_content": "直播分销员"},
    {"info_type": "报酬说明", "info_content": "直播带货分销佣金"},
]
_REFUND_STATES = {
    "SUCCESS": rules.SUCCEEDED,
    "PROCESSING": rules.PROCESSING,
    "ABNORMAL": rules.REFUSED,  # the buyer's account cannot take it: ops act
    "CLOSED": rules.REFUSED,
}


def trade_no(payment_id: str) -> str:
    return payment_id.partition("~")[2]


class WeChatPay:
    """One merchant account; a PaymentProvider for refunds, and the checkout and the
    notifications for the gateway."""

    name = "wechat"

    def __init__(self, config: WeChatPayConfig, notify_url: str) -> None:
        self._config = config
        self._sdk = AsyncWeChatPay(
            wechatpay_type=WeChatPayType.JSAPI,
            mchid=config.mchid,
            private_key=config.private_key,
            cert_serial_no=config.cert_serial_no,
            appid=config.appid,
            apiv3_key=config.apiv3_key,
            notify_url=notify_url,
            public_key=config.public_key,
            public_key_id=config.public_key_id,
            timeout=(3, 10),
        )
        # The SDK fixes the official host; a stand-in (tests) or a proxy is named here.
        self._sdk._core._gate_way = config.api_url.rstrip("/")
        self._open = False

    async def _client(self) -> AsyncWeChatPay:
        if not self._open:
            await self._sdk.__aenter__()
            self._open = True
        return self._sdk

    async def close(self) -> None:
        if self._open:
            await self._sdk.__aexit__(None, None, None)
            self._open = False

    # -- checkout ------------------------------------------------------------------------

    async def checkout(
        self, payment: Mapping[str, Any], description: str, openid: str | None
    ) -> dict[str, str]:
        """Open the payment at WeChat Pay (again: the same out_trade_no and amount answer
        the same prepay) and what the page needs to pay it: the JSAPI call's signed
        parameters where the viewer's openid is known, else a Native QR code's URL."""
        sdk = await self._client()
        kind = WeChatPayType.JSAPI if openid else WeChatPayType.NATIVE
        code, text = await self._call(
            sdk.pay(
                description=description[:127],
                out_trade_no=trade_no(payment["id"]),
                amount={"total": payment["amount_fen"], "currency": "CNY"},
                payer={"openid": openid} if openid else None,
                attach=payment["id"].partition("~")[0],  # its keyspace: a campaign's or bucket's
                pay_type=kind,
            )
        )
        answer = _json(text)
        if code != 200:
            raise ProviderUnavailable(f"pay: {code} {answer.get('code')} {answer.get('message')}")
        if not openid:
            return {"kind": "native", "code_url": str(answer["code_url"])}
        stamp, nonce = str(int(time.time())), secrets.token_hex(16)
        package = f"prepay_id={answer['prepay_id']}"
        sign = sdk.sign([self._config.appid, stamp, nonce, package])
        return {
            "kind": "jsapi",
            "appId": self._config.appid,
            "timeStamp": stamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": sign,
        }

    # -- notifications -------------------------------------------------------------------

    def decode(
        self, headers: Mapping[str, str], body: bytes, now: float | None = None
    ) -> PaymentNotice | RefundNotice:
        """A verified notification, decrypted; BadNotice for anything else."""
        stamp = headers.get("wechatpay-timestamp", "")
        current = time.time() if now is None else now
        if not stamp.isdigit() or abs(current - int(stamp)) > NOTICE_TOLERANCE_S:
            raise BadNotice("Wechatpay-Timestamp missing or outside the tolerance")
        try:
            found = self._sdk.callback(headers=dict(headers), body=body)
        except Exception as exc:  # the SDK raises bare Exception for what it cannot read
            raise BadNotice(f"unreadable: {exc}") from None
        if not found or not isinstance(found.get("resource"), dict):
            raise BadNotice("signature or ciphertext does not verify")
        event, resource = str(found.get("event_type", "")), found["resource"]
        try:
            if event.startswith("REFUND."):
                return RefundNotice(resource["out_refund_no"], _refund_answer(resource))
            return PaymentNotice(
                payment_id=f"{resource['attach']}~{resource['out_trade_no']}",
                amount_fen=int(resource["amount"]["total"]),
                status="succeeded" if resource["trade_state"] == "SUCCESS" else "failed",
                transaction_id=str(resource.get("transaction_id", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadNotice(f"missing {exc}") from None

    # -- following a payment (FollowsPayments) -------------------------------------------

    async def payment_state(self, payment_id: str) -> PaymentState:
        sdk = await self._client()
        code, text = await self._call(sdk.query(out_trade_no=trade_no(payment_id)))
        found = _json(text)
        if code == 404:  # never opened at WeChat (the page never got that far)
            return PaymentState(paid=False)
        if code != 200:
            raise ProviderUnavailable(f"query: {code} {found.get('code')}")
        state = found.get("trade_state")
        return PaymentState(
            paid=state in ("SUCCESS", "REFUND"),  # REFUND: paid, then (partly) refunded
            amount_fen=int(found.get("amount", {}).get("total", 0)),
            transaction_id=str(found.get("transaction_id", "")),
            closed=state in ("CLOSED", "REVOKED", "PAYERROR"),
        )

    async def close_payment(self, payment_id: str) -> None:
        sdk = await self._client()
        code, text = await self._call(sdk.close(out_trade_no=trade_no(payment_id)))
        found = _json(text)
        if code not in (200, 204) and found.get("code") not in ("ORDER_CLOSED", "ORDER_NOT_EXIST"):
            raise ProviderUnavailable(f"close: {code} {found.get('code')}")

    # -- payouts (TransfersPayouts): 商家转账 ------------------------------------------------

    async def transfer(self, ask: TransferAsk) -> TransferAnswer:
        if ask.amount_fen >= payout_rules.NAME_NEEDED_FEN and not ask.name:
            # WeChat takes no transfer this large without the payee's real name
            return TransferAnswer(payout_rules.REFUSED, "", payout_rules.NAME_NEEDED)
        sdk = await self._client()
        code, text = await self._call(
            sdk.mch_transfer_bills(
                out_bill_no=ask.bill_no,
                transfer_scene_id=TRANSFER_SCENE,
                openid=ask.account,
                transfer_amount=ask.amount_fen,
                transfer_remark=ask.remark[:32],
                user_name=ask.name or None,
                transfer_scene_report_infos=TRANSFER_REPORT,
            )
        )
        return _transfer_answer(code, _json(text))

    async def transfer_status(self, ask: TransferAsk) -> TransferAnswer:
        sdk = await self._client()
        code, text = await self._call(sdk.mch_transfer_bills_query(out_bill_no=ask.bill_no))
        if code == 404:  # never reached WeChat: the sender asks for it again
            return TransferAnswer(payout_rules.PENDING)
        return _transfer_answer(code, _json(text))

    # -- refunds (PaymentProvider) -------------------------------------------------------

    async def refund(self, ask: RefundAsk) -> RefundAnswer:
        sdk = await self._client()
        code, text = await self._call(
            sdk.refund(
                out_refund_no=ask.refund_id,
                amount={"refund": ask.amount_fen, "total": ask.payment_fen, "currency": "CNY"},
                out_trade_no=trade_no(ask.payment_id),
                reason=ask.reason[:80],
            )
        )
        answer = _json(text)
        if code == 200:
            return _refund_answer(answer)
        if code >= 500 or code == 429:
            raise ProviderUnavailable(f"refund: {code} {answer.get('code')}")
        return RefundAnswer(rules.REFUSED, "", f"{answer.get('code')}: {answer.get('message')}")

    async def refund_status(self, ask: RefundAsk) -> RefundAnswer:
        sdk = await self._client()
        code, text = await self._call(sdk.query_refund(out_refund_no=ask.refund_id))
        answer = _json(text)
        if code == 200:
            return _refund_answer(answer)
        if code == 404:  # never reached WeChat: the sender asks for it again
            return RefundAnswer(rules.PENDING)
        raise ProviderUnavailable(f"query refund: {code} {answer.get('code')}")

    # -- the day's statement --------------------------------------------------------------

    async def statement(self, day: date) -> list[BillLine]:
        """The trade bill of that day (every payment and refund), downloaded and read."""
        sdk = await self._client()
        code, text = await self._call(sdk.trade_bill(bill_date=day.isoformat(), tar_type="GZIP"))
        answer = _json(text)
        if code != 200 or "download_url" not in answer:
            raise ProviderUnavailable(f"trade bill: {code} {answer.get('code')}")
        code, content = await self._call(sdk.download_bill(answer["download_url"]))
        if code != 200 or not isinstance(content, bytes):
            raise ProviderUnavailable(f"bill download: {code}")
        try:
            return wechat_lines(gzip.decompress(content).decode("utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ProviderUnavailable(f"bill download: unreadable ({exc})") from None

    async def _call(self, request: Any) -> tuple[int, Any]:
        try:
            code, text = await request
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{exc.__class__.__name__}: {exc}") from None
        except Exception as exc:  # e.g. an answer whose signature does not verify
            raise ProviderUnavailable(str(exc)) from None
        return int(code), text


def _transfer_answer(code: int, found: Mapping[str, Any]) -> TransferAnswer:
    if code >= 500 or code == 429:
        raise ProviderUnavailable(f"transfer: {code} {found.get('code')}")
    if code != 200:  # refused outright (e.g. NOT_ENOUGH: the merchant's balance is short)
        return TransferAnswer(
            payout_rules.REFUSED, "", f"{found.get('code')}: {found.get('message')}"
        )
    state = str(found.get("state", ""))
    ref = str(found.get("transfer_bill_no", ""))
    if state == "SUCCESS":
        return TransferAnswer(payout_rules.SUCCEEDED, ref)
    if state in ("FAIL", "CANCELLED"):
        return TransferAnswer(
            payout_rules.REFUSED, ref, f"WeChat Pay: {found.get('fail_reason', state)}"
        )
    confirm = str(found.get("package_info", "")) if state == "WAIT_USER_CONFIRM" else ""
    return TransferAnswer(payout_rules.PROCESSING, ref, "", confirm)


def _refund_answer(found: Mapping[str, Any]) -> RefundAnswer:
    status = str(found.get("status") or found.get("refund_status") or "")
    state = _REFUND_STATES.get(status, rules.PROCESSING)
    detail = "" if state != rules.REFUSED else f"WeChat Pay: {status}"
    return RefundAnswer(state, str(found.get("refund_id", "")), detail)


def _json(text: Any) -> dict[str, Any]:
    try:
        found = orjson.loads(text) if text else {}
    except orjson.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}
