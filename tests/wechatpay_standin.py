"""A local stand-in for WeChat Pay's API v3, following its published protocol with keys made
for the test: it checks each request's merchant signature (WECHATPAY2-SHA256-RSA2048 over
"method\\npath\\ntimestamp\\nnonce\\nbody\\n"), signs each answer with the platform key
(Wechatpay-Signature over "timestamp\\nnonce\\nbody\\n", Wechatpay-Serial the public key id),
and makes notifications as WeChat does: the resource encrypted with AEAD_AES_256_GCM under
the APIv3 key, the whole signed. Trades and refunds behave as the API documents: a prepay is
the same for the same out_trade_no, a refund is kept once by out_refund_no, and no trade
refunds more than it took.

Written from the protocol with `cryptography` (not the SDK), so the SDK's side is checked
against an independent implementation."""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import re
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiohttp import web
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from server.payments.wechat_config import WeChatPayConfig
from tests.rsa_keys import new_key, private_pem, public_pem, sign, signed_by
from tests.server_harness import serving

MCHID = "1900000109"
APPID = "wx0123456789abcdef"
SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092025000000000001"
_AUTH = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class Trade:
    out_trade_no: str
    total: int
    attach: str
    notify_url: str
    prepay_id: str
    openid: str
    state: str = "NOTPAY"
    transaction_id: str = ""
    refunded: int = 0


@dataclass
class StandIn:
    """One merchant account at the stand-in; `config(url)` is what the gateway is given."""

    merchant_key: rsa.RSAPrivateKey = field(default_factory=new_key)
    platform_key: rsa.RSAPrivateKey = field(default_factory=new_key)
    apiv3_key: str = field(default_factory=lambda: secrets.token_hex(16))
    trades: dict[str, Trade] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    refund_asks: Counter[str] = field(default_factory=Counter)  # by out_refund_no
    bad_signatures: int = 0
    queries: int = 0  # payment queries asked
    unavailable: int = 0  # requests answered 503 while down
    down: bool = False  # answers 503 to everything while set
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)  # by out_bill_no
    transfer_asks: Counter[str] = field(default_factory=Counter)
    balance_short: bool = False  # refuses new transfers (NOT_ENOUGH) while set
    closes_fail: bool = False  # answers SYSTEM_ERROR to closes while set (the trade stays open)
    close_asks: Counter[str] = field(default_factory=Counter)  # by out_trade_no
    bill_drop: set[str] = field(default_factory=set)  # payments the bill leaves out
    bill_extra: list[list[str]] = field(default_factory=list)  # rows only the bill has
    url: str = ""

    def config(self, folder: Path) -> WeChatPayConfig:
        merchant, platform = private_pem(self.merchant_key), public_pem(self.platform_key)
        (folder / "apiclient_key.pem").write_text(merchant)
        (folder / "pub_key.pem").write_text(platform)
        return WeChatPayConfig(
            mchid=MCHID,
            appid=APPID,
            private_key=merchant,
            cert_serial_no=SERIAL,
            apiv3_key=self.apiv3_key,
            public_key=platform,
            public_key_id=PUBLIC_KEY_ID,
            api_url=self.url,
        )

    # -- the API ---------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._checked])
        app.router.add_post("/v3/pay/transactions/jsapi", self._pay)
        app.router.add_post("/v3/pay/transactions/native", self._pay)
        app.router.add_get("/v3/pay/transactions/out-trade-no/{no}", self._query)
        app.router.add_post("/v3/pay/transactions/out-trade-no/{no}/close", self._close)
        app.router.add_post("/v3/refund/domestic/refunds", self._refund)
        app.router.add_get("/v3/refund/domestic/refunds/{no}", self._query_refund)
        app.router.add_get("/v3/bill/tradebill", self._trade_bill)
        app.router.add_post("/v3/fund-app/mch-transfer/transfer-bills", self._transfer)
        app.router.add_get(
            "/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{no}", self._transfer_query
        )
        app.router.add_get("/v3/billdownload/file", self._bill_file)
        return app

    @web.middleware
    async def _checked(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.down:
            self.unavailable += 1
            return self._answer(503, {"code": "SYSTEM_ERROR", "message": "系统繁忙"})
        body = (await request.read()).decode()
        if not self._signed_by_merchant(request, body):
            self.bad_signatures += 1
            return self._answer(401, {"code": "SIGN_ERROR", "message": "签名错误"})
        response: web.StreamResponse = await handler(request)
        return response

    def _signed_by_merchant(self, request: web.Request, body: str) -> bool:
        scheme, _, rest = request.headers.get("Authorization", "").partition(" ")
        parts = dict(_AUTH.findall(rest))
        if scheme != "WECHATPAY2-SHA256-RSA2048" or parts.get("mchid") != MCHID:
            return False
        if parts.get("serial_no") != SERIAL or not parts.get("timestamp", "").isdigit():
            return False
        if abs(time.time() - int(parts["timestamp"])) > 300:
            return False
        message = (
            f"{request.method}\n{request.path_qs}\n{parts['timestamp']}\n"
            f"{parts.get('nonce_str', '')}\n{body}\n"
        )
        return signed_by(self.merchant_key, message, parts.get("signature", ""))

    def _answer(self, status: int, payload: dict[str, Any] | None) -> web.Response:
        body = orjson.dumps(payload).decode() if payload is not None else ""
        return web.Response(
            status=status,
            text=body,
            content_type="application/json",
            headers=self._signed_headers(body),
        )

    def _signed_headers(self, body: str) -> dict[str, str]:
        stamp, nonce = str(int(time.time())), secrets.token_hex(16)
        return {
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": sign(self.platform_key, f"{stamp}\n{nonce}\n{body}\n"),
            "Wechatpay-Serial": PUBLIC_KEY_ID,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }

    async def _pay(self, request: web.Request) -> web.Response:
        ask = orjson.loads(await request.read())
        if ask.get("mchid") != MCHID or ask.get("appid") != APPID:
            return self._answer(400, {"code": "PARAM_ERROR", "message": "mchid/appid"})
        native = request.path.endswith("/native")
        if not native and not ask.get("payer", {}).get("openid"):
            return self._answer(400, {"code": "PARAM_ERROR", "message": "payer.openid"})
        no, total = ask["out_trade_no"], int(ask["amount"]["total"])
        if not re.fullmatch(r"[0-9A-Za-z_\-|*]{6,32}", no):
            return self._answer(400, {"code": "PARAM_ERROR", "message": "out_trade_no"})
        trade = self.trades.get(no)
        if trade is None:
            openid = "" if native else ask["payer"]["openid"]
            trade = Trade(no, total, ask.get("attach", ""), ask["notify_url"], _token("wx"), openid)
            self.trades[no] = trade
        elif trade.total != total:
            return self._answer(400, {"code": "INVALID_REQUEST", "message": "订单号重复"})
        if native:
            return self._answer(200, {"code_url": f"weixin://wxpay/bizpayurl?pr={trade.prepay_id}"})
        return self._answer(200, {"prepay_id": trade.prepay_id})

    async def _query(self, request: web.Request) -> web.Response:
        self.queries += 1
        trade = self.trades.get(request.match_info["no"])
        if trade is None or request.query.get("mchid") != MCHID:
            return self._answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
        return self._answer(
            200,
            {
                "appid": APPID,
                "mchid": MCHID,
                "out_trade_no": trade.out_trade_no,
                "transaction_id": trade.transaction_id,
                "trade_state": trade.state,
                "attach": trade.attach,
                "amount": {"total": trade.total, "currency": "CNY"},
            },
        )

    async def _close(self, request: web.Request) -> web.Response:
        trade = self.trades.get(request.match_info["no"])
        if trade is None:
            return self._answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
        self.close_asks[trade.out_trade_no] += 1
        if self.closes_fail:
            return self._answer(500, {"code": "SYSTEM_ERROR", "message": "系统错误"})
        if trade.state == "SUCCESS":
            return self._answer(400, {"code": "ORDERPAID", "message": "订单已支付"})
        trade.state = "CLOSED"
        return self._answer(204, None)

    async def _refund(self, request: web.Request) -> web.Response:
        ask = orjson.loads(await request.read())
        no = ask["out_refund_no"]
        self.refund_asks[no] += 1
        if no in self.refunds:  # the same refund asked again: the first answer
            return self._answer(200, self.refunds[no])
        trade = self.trades.get(ask.get("out_trade_no", ""))
        if trade is None or trade.state != "SUCCESS":
            return self._answer(404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"})
        amount = int(ask["amount"]["refund"])
        if int(ask["amount"]["total"]) != trade.total:
            return self._answer(400, {"code": "PARAM_ERROR", "message": "amount.total"})
        if amount <= 0 or trade.refunded + amount > trade.total:
            return self._answer(403, {"code": "NOT_ENOUGH", "message": "可退金额不足"})
        trade.refunded += amount
        self.refunds[no] = {
            "refund_id": _token("50"),
            "out_refund_no": no,
            "out_trade_no": trade.out_trade_no,
            "transaction_id": trade.transaction_id,
            "status": "PROCESSING",
            "amount": {"refund": amount, "total": trade.total, "currency": "CNY"},
        }
        return self._answer(200, self.refunds[no])

    async def _query_refund(self, request: web.Request) -> web.Response:
        found = self.refunds.get(request.match_info["no"])
        if found is None:
            return self._answer(404, {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"})
        return self._answer(200, found)

    async def _transfer(self, request: web.Request) -> web.Response:
        ask = orjson.loads(await request.read())
        no = ask["out_bill_no"]
        self.transfer_asks[no] += 1
        if no in self.transfers:  # the same bill again: the first answer
            return self._answer(200, self.transfers[no])
        if not re.fullmatch(r"[0-9A-Za-z]{5,32}", no) or ask.get("appid") != APPID:
            return self._answer(400, {"code": "PARAM_ERROR", "message": "out_bill_no/appid"})
        if ask.get("transfer_scene_id") != "1005" or not ask.get("transfer_scene_report_infos"):
            return self._answer(400, {"code": "PARAM_ERROR", "message": "转账场景报备信息"})
        name = ""
        if "user_name" in ask:  # encrypted with the platform key, which only WeChat holds
            if request.headers.get("Wechatpay-Serial") != PUBLIC_KEY_ID:
                return self._answer(400, {"code": "PARAM_ERROR", "message": "Wechatpay-Serial"})
            name = self.platform_key.decrypt(
                base64.b64decode(ask["user_name"]),
                padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
            ).decode()
        if ask["transfer_amount"] >= 200_000 and not name:
            return self._answer(400, {"code": "PARAM_ERROR", "message": "user_name"})
        if self.balance_short:
            return self._answer(403, {"code": "NOT_ENOUGH", "message": "商户运营账户资金不足"})
        # Scene 1005 waits for the payee to confirm in WeChat: package_info is what the
        # payee's page hands WeChat's requestMerchantTransfer
        self.transfers[no] = {
            "out_bill_no": no,
            "transfer_bill_no": _token("1330"),
            "state": "WAIT_USER_CONFIRM",
            "package_info": _token("ABBQO+oYAAABAAAAAAAk"),
            "openid": ask["openid"],
            "transfer_amount": ask["transfer_amount"],
            "user_name": name,
        }
        return self._answer(200, self.transfers[no])

    async def _transfer_query(self, request: web.Request) -> web.Response:
        found = self.transfers.get(request.match_info["no"])
        if found is None:
            return self._answer(404, {"code": "NOT_FOUND", "message": "记录不存在"})
        return self._answer(200, found)

    def finish_transfers(self, refuse: Collection[str] = ()) -> None:
        """Every payee confirmed and WeChat settles the transfers: those to `refuse`d openids
        fail."""
        for transfer in self.transfers.values():
            if transfer["state"] == "WAIT_USER_CONFIRM":
                failed = transfer["openid"] in refuse
                transfer["state"] = "FAIL" if failed else "SUCCESS"
                transfer.pop("package_info")
                if failed:
                    transfer["fail_reason"] = "PAYEE_ACCOUNT_ABNORMAL"

    def confirm_receipt(self, mchid: str, appid: str, package: str) -> None:
        """What WeChat does when a payee confirms in its requestMerchantTransfer sheet."""
        assert (mchid, appid) == (MCHID, APPID), "another merchant's transfer"
        [transfer] = [t for t in self.transfers.values() if t.get("package_info") == package]
        assert transfer["state"] == "WAIT_USER_CONFIRM"
        transfer["state"] = "SUCCESS"
        transfer.pop("package_info")

    async def _trade_bill(self, request: web.Request) -> web.Response:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", request.query.get("bill_date", "")):
            return self._answer(400, {"code": "PARAM_ERROR", "message": "bill_date"})
        content = gzip.compress(self.bill_csv().encode())
        return self._answer(
            200,
            {
                "hash_type": "SHA1",
                "hash_value": hashlib.sha1(content).hexdigest(),  # noqa: S324 - WeChat's choice
                "download_url": f"{self.url}/v3/billdownload/file?token={secrets.token_hex(8)}",
            },
        )

    async def _bill_file(self, request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(self.bill_csv().encode()), content_type="application/octet-stream"
        )

    def bill_csv(self) -> str:
        """The trade bill as WeChat writes it: every value after a backtick, payments and
        refunds, then the summary; `bill_drop` and `bill_extra` make it disagree."""
        rows = []
        for trade in self.trades.values():
            if trade.state == "SUCCESS" and trade.out_trade_no not in self.bill_drop:
                fee = round(trade.total * 0.006)
                rows.append(
                    _bill_row(trade.transaction_id, trade.out_trade_no, "SUCCESS", trade.total, fee)
                )
        for refund in self.refunds.values():
            fee = -round(refund["amount"]["refund"] * 0.006)
            rows.append(
                _bill_row(
                    refund["transaction_id"], refund["out_trade_no"], "REFUND", 0, fee,
                    refund["refund_id"], refund["out_refund_no"], refund["amount"]["refund"],
                )
            )  # fmt: skip
        rows.extend(self.bill_extra)
        lines = [",".join(_BILL_HEADER), *(",".join(f"`{cell}" for cell in row) for row in rows)]
        lines.append(
            "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
        )
        lines.append(f"`{len(rows)},`0.00,`0.00,`0.00,`0.00,`0.00,`0.00")
        return "\r\n".join(lines) + "\r\n"

    # -- what WeChat does on its own -------------------------------------------------------

    def pay(self, out_trade_no: str) -> tuple[bytes, dict[str, str]]:
        """The buyer pays: the trade succeeds, and this is the notification WeChat sends."""
        trade = self.trades[out_trade_no]
        assert trade.state == "NOTPAY", f"a {trade.state} trade cannot be paid"
        trade.state, trade.transaction_id = "SUCCESS", _token("42")
        resource = {
            "mchid": MCHID,
            "appid": APPID,
            "out_trade_no": trade.out_trade_no,
            "transaction_id": trade.transaction_id,
            "trade_type": "JSAPI" if trade.openid else "NATIVE",
            "trade_state": "SUCCESS",
            "attach": trade.attach,
            "amount": {"total": trade.total, "payer_total": trade.total, "currency": "CNY"},
            "payer": {"openid": trade.openid},
        }
        return self.notification("TRANSACTION.SUCCESS", "transaction", resource)

    def finish_refunds(self) -> list[tuple[bytes, dict[str, str]]]:
        """The bank took every processing refund: each succeeds; their notifications."""
        sent = []
        for refund in self.refunds.values():
            if refund["status"] == "PROCESSING":
                refund["status"] = "SUCCESS"
                resource = {**refund, "refund_status": "SUCCESS", "mchid": MCHID}
                sent.append(self.notification("REFUND.SUCCESS", "refund", resource))
        return sent

    def notification(
        self, event: str, kind: str, resource: dict[str, Any], at: float | None = None
    ) -> tuple[bytes, dict[str, str]]:
        nonce = secrets.token_hex(6)  # 12 characters, as WeChat's
        sealed = AESGCM(self.apiv3_key.encode()).encrypt(
            nonce.encode(), orjson.dumps(resource), kind.encode()
        )
        body = orjson.dumps(
            {
                "id": _token("EV-"),
                "create_time": "2026-09-01T20:00:00+08:00",
                "resource_type": "encrypt-resource",
                "event_type": event,
                "summary": "支付成功",
                "resource": {
                    "original_type": kind,
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": base64.b64encode(sealed).decode(),
                    "associated_data": kind,
                    "nonce": nonce,
                },
            }
        )
        stamp, sign_nonce = str(int(time.time() if at is None else at)), secrets.token_hex(16)
        message = f"{stamp}\n{sign_nonce}\n{body.decode()}\n"
        headers = {
            "Content-Type": "application/json",
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Nonce": sign_nonce,
            "Wechatpay-Signature": sign(self.platform_key, message),
            "Wechatpay-Serial": PUBLIC_KEY_ID,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }
        return body, headers

    async def deliver(self, notice: tuple[bytes, dict[str, str]], url: str) -> httpx.Response:
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(url, content=notice[0], headers=notice[1])


_BILL_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
    "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
).split(",")


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _bill_row(
    transaction_id: str,
    out_trade_no: str,
    state: str,
    total: int,
    fee: int,
    refund_id: str = "0",
    out_refund_no: str = "0",
    refunded: int = 0,
) -> list[str]:
    """One row of the trade bill, in the header's order."""
    refund_state = "SUCCESS" if state == "REFUND" else ""
    return [
        "2026-09-01 20:00:05", APPID, MCHID, "0", "", transaction_id, out_trade_no, "oUpF8u",
        "JSAPI", state, "OTHERS", "CNY", _yuan(total), "0.00", refund_id, out_refund_no,
        _yuan(refunded), "0.00", "ORIGINAL" if refunded else "", refund_state, "中秋月饼",
        "mid-autumn", _yuan(fee), "0.60%", _yuan(total), _yuan(refunded), "",
    ]  # fmt: skip


def extra_payment(out_trade_no: str, total: int) -> list[str]:
    """A payment only the bill has (made outside this system)."""
    return _bill_row(_token("42"), out_trade_no, "SUCCESS", total, round(total * 0.006))


def _token(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


@contextlib.asynccontextmanager
async def wechatpay_standin() -> AsyncIterator[StandIn]:
    standin = StandIn()
    async with serving(standin.app()) as base:
        standin.url = base + ""
        yield standin
