"""A local stand-in for Alipay's open-platform gateway, following its published protocol with
keys made for the test: each request's RSA2 signature is checked (SHA256withRSA over the
sorted "k=v&..." of every parameter but `sign`), each answer is signed over its
`<method>_response` object's exact text, and trade notifications are form-encoded and signed
over their sorted fields less `sign` and `sign_type`. Trades and refunds behave as the API
documents: a refund is kept once by out_request_no and no trade refunds more than it took.

Written from the protocol with `cryptography` (not the SDK), so the SDK is checked against
an independent implementation."""

from __future__ import annotations

import contextlib
import io
import secrets
import zipfile
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import orjson
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from server.payments.alipay_config import AlipayConfig
from tests.rsa_keys import new_key, private_pem, public_pem, sign, signed_by
from tests.server_harness import serving

APPID = "2021004100000001"
_BEIJING = ZoneInfo("Asia/Shanghai")


def _signed_string(fields: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(fields.items()))


_BILL_HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,"
    "对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,"
    "商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,"
    "退款批次号/请求号,服务费（元）,分润（元）,备注"
).split(",")


def _bill_row(
    trade_no: str, out_trade_no: str, kind: str, amount: Decimal, fee: Decimal, request_no: str
) -> list[str]:
    return [
        trade_no, out_trade_no, kind, "中秋月饼", "2026-09-01 20:00:01", "2026-09-01 20:00:05",
        "", "", "", "", "buy***@example.com", str(amount), str(amount), "0.00", "0.00", "0.00",
        "0.00", "0.00", "", "0.00", "0.00", request_no, str(fee), "0.00", "",
    ]  # fmt: skip


def extra_payment(out_trade_no: str, total: str) -> list[str]:
    """A payment only the bill has (made outside this system)."""
    return _bill_row(
        "2026" + secrets.token_hex(10), out_trade_no, "交易", Decimal(total), Decimal("0"), ""
    )


def _failed(sub_code: str, sub_msg: str) -> dict[str, str]:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}


@dataclass
class Trade:
    out_trade_no: str
    total: Decimal
    passback: str
    state: str = "WAIT_BUYER_PAY"
    trade_no: str = ""
    refunded: Decimal = Decimal("0")


@dataclass
class AlipayStandIn:
    app_key: rsa.RSAPrivateKey = field(default_factory=new_key)
    alipay_key: rsa.RSAPrivateKey = field(default_factory=new_key)
    trades: dict[str, Trade] = field(default_factory=dict)
    refunds: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    refund_asks: Counter[str] = field(default_factory=Counter)  # by out_request_no
    bad_signatures: int = 0
    queries: int = 0  # trade queries asked
    refuse_refunds: str = ""  # a sub_code to refuse every new refund with, while set
    bill_drop: set[str] = field(default_factory=set)  # payments the bill leaves out
    bill_extra: list[list[str]] = field(default_factory=list)  # rows only the bill has
    _refund_amounts: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    url: str = ""

    def config(self, folder: Path) -> AlipayConfig:
        private, public = private_pem(self.app_key), public_pem(self.alipay_key)
        (folder / "alipay_app_key.pem").write_text(private)
        (folder / "alipay_public_key.pem").write_text(public)
        return AlipayConfig(
            appid=APPID, private_key=private, alipay_public_key=public, gateway=self.url
        )

    # -- the gateway -----------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/gateway.do", self._gateway)
        app.router.add_get("/bill.zip", self._bill_zip)
        return app

    async def _gateway(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        signature = params.pop("sign", "")
        if params.get("app_id") != APPID or not self._signed_by_app(params, signature):
            self.bad_signatures += 1
            body = {
                "code": "40002",
                "msg": "Invalid Arguments",
                "sub_code": "isv.invalid-signature",
            }
            return self._answer("error", body)
        method = params["method"]
        biz = orjson.loads(params.get("biz_content", "{}"))
        if method == "alipay.trade.wap.pay":  # the buyer's browser reaches the cashier
            no = biz["out_trade_no"]
            trade = self.trades.setdefault(
                no, Trade(no, Decimal(biz["total_amount"]), biz.get("passback_params", ""))
            )
            page = f"<html><body>收银台 ¥{trade.total}</body></html>"
            return web.Response(text=page, content_type="text/html")
        handlers = {
            "alipay.data.dataservice.bill.downloadurl.query": self._bill_url,
            "alipay.trade.query": self._trade_query,
            "alipay.trade.close": self._trade_close,
            "alipay.trade.refund": self._refund,
            "alipay.trade.fastpay.refund.query": self._refund_query,
        }
        handler = handlers.get(method)
        body = handler(biz) if handler else _failed("ACQ.UNSUPPORTED", "不支持")
        return self._answer(method, body)

    def _bill_url(self, biz: dict[str, Any]) -> dict[str, Any]:
        if biz.get("bill_type") != "trade":
            return _failed("isv.invalid-bill-type", "账单类型不对")
        url = self.url.replace("/gateway.do", f"/bill.zip?token={secrets.token_hex(8)}")
        return {"code": "10000", "msg": "Success", "bill_download_url": url}

    def _trade_query(self, biz: dict[str, Any]) -> dict[str, Any]:
        self.queries += 1
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None:
            return _failed("ACQ.TRADE_NOT_EXIST", "交易不存在")
        return {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": trade.state,
            "total_amount": str(trade.total),
        }

    def _trade_close(self, biz: dict[str, Any]) -> dict[str, Any]:
        trade = self.trades.get(biz.get("out_trade_no", ""))
        if trade is None:
            return _failed("ACQ.TRADE_NOT_EXIST", "交易不存在")
        if trade.state != "WAIT_BUYER_PAY":
            return _failed("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        trade.state = "TRADE_CLOSED"
        return {"code": "10000", "msg": "Success", "out_trade_no": trade.out_trade_no}

    def _refund_query(self, biz: dict[str, Any]) -> dict[str, Any]:
        found = self.refunds.get((biz.get("out_trade_no", ""), biz["out_request_no"]))
        body = {"code": "10000", "msg": "Success", "out_request_no": biz["out_request_no"]}
        if found:
            body.update(
                refund_amount=found["refund_fee"],
                refund_status="REFUND_SUCCESS",
                trade_no=found["trade_no"],
            )
        return body

    def _signed_by_app(self, params: dict[str, str], signature: str) -> bool:
        return signed_by(self.app_key, _signed_string(params), signature)

    def _refund(self, biz: dict[str, Any]) -> dict[str, Any]:
        no, request_no = biz.get("out_trade_no", ""), biz["out_request_no"]
        self.refund_asks[request_no] += 1
        if (no, request_no) in self.refunds:  # asked again: no money moves
            return {**self.refunds[(no, request_no)], "fund_change": "N"}
        trade = self.trades.get(no)
        if trade is None or trade.state != "TRADE_SUCCESS":
            return {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "ACQ.TRADE_NOT_EXIST",
                "sub_msg": "交易不存在",
            }
        if self.refuse_refunds:
            return {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": self.refuse_refunds,
                "sub_msg": "卖家余额不足",
            }
        amount = Decimal(biz["refund_amount"])
        if amount <= 0 or trade.refunded + amount > trade.total:
            return {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                "sub_msg": "退款金额超限",
            }
        trade.refunded += amount
        self._refund_amounts[(no, request_no)] = amount
        self.refunds[(no, request_no)] = {
            "code": "10000",
            "msg": "Success",
            "trade_no": trade.trade_no,
            "out_trade_no": no,
            "refund_fee": str(trade.refunded),
            "fund_change": "Y",
        }
        return self.refunds[(no, request_no)]

    def _answer(self, method: str, body: dict[str, Any]) -> web.Response:
        name = "error_response" if method == "error" else method.replace(".", "_") + "_response"
        inner = orjson.dumps(body).decode()
        text = f'{{"{name}":{inner},"sign":"{sign(self.alipay_key, inner)}"}}'
        return web.Response(text=text, content_type="application/json", charset="utf-8")

    async def _bill_zip(self, request: web.Request) -> web.Response:
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("20880000_20260901_业务明细.csv", self.bill_csv().encode("gbk"))
            z.writestr("20880000_20260901_业务明细(汇总).csv", "#汇总\n".encode("gbk"))
        return web.Response(body=archive.getvalue(), content_type="application/zip")

    def bill_csv(self) -> str:
        """The detail CSV as Alipay writes it: # lines around the header and the rows, values
        padded with tabs, refunds negative, the service fee negative on a trade."""
        rows = []
        for trade in self.trades.values():
            if trade.state == "TRADE_SUCCESS" and trade.out_trade_no not in self.bill_drop:
                fee = -(trade.total * Decimal("0.006")).quantize(Decimal("0.01"))
                rows.append(
                    _bill_row(trade.trade_no, trade.out_trade_no, "交易", trade.total, fee, "")
                )
        for (no, request_no), refund in self.refunds.items():
            amount = self._refund_amounts[(no, request_no)]
            fee = (amount * Decimal("0.006")).quantize(Decimal("0.01"))
            rows.append(_bill_row(refund["trade_no"], no, "退款", -amount, fee, request_no))
        rows.extend(self.bill_extra)
        head = [
            "#支付宝业务明细查询",
            "#账号：[20880000000000000156]",
            "#起始日期：[2026年09月01日 00:00:00]   终止日期：[2026年09月02日 00:00:00]",
            "#-----------------------------------------业务明细列表----------------------------------------",
            ",".join(_BILL_HEADER),
        ]
        tail = [
            "#-----------------------------------------业务明细列表结束------------------------------------",
            f"#交易合计：{len(rows)}笔",
            "#导出时间：[2026年09月02日 09:00:00]",
        ]
        return "\r\n".join([*head, *(",".join(f"{cell}\t" for cell in row) for row in rows), *tail])

    # -- what Alipay does on its own -------------------------------------------------------

    def pay(self, out_trade_no: str, sent: datetime | None = None) -> tuple[bytes, dict[str, str]]:
        """The buyer pays at the cashier; this is Alipay's trade notification."""
        trade = self.trades[out_trade_no]
        assert trade.state == "WAIT_BUYER_PAY", f"a {trade.state} trade cannot be paid"
        trade.state, trade.trade_no = "TRADE_SUCCESS", "2026" + secrets.token_hex(10)
        return self.paid_notice(out_trade_no, sent)

    def paid_notice(
        self, out_trade_no: str, sent: datetime | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The notification of a paid trade, sent at that time (again, or a replay)."""
        trade = self.trades[out_trade_no]
        at = sent or datetime.now(_BEIJING)
        fields = {
            "notify_time": at.astimezone(_BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(16),
            "app_id": APPID,
            "charset": "utf-8",
            "version": "1.0",
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "trade_status": "TRADE_SUCCESS",
            "total_amount": str(trade.total),
            "receipt_amount": str(trade.total),
            "buyer_id": "2088102177846880",
            "passback_params": trade.passback,
        }
        return self.notification(fields)

    def notification(self, fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
        signed = {
            **fields,
            "sign": sign(self.alipay_key, _signed_string(fields)),
            "sign_type": "RSA2",
        }
        return urlencode(signed).encode(), {"Content-Type": "application/x-www-form-urlencoded"}

    def long_ago(self) -> datetime:
        return datetime.now(_BEIJING) - timedelta(hours=2)

    async def visit(self, url: str) -> httpx.Response:
        """The buyer's browser opens the cashier address the gateway gave."""
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.get(url)


@contextlib.asynccontextmanager
async def alipay_standin() -> AsyncIterator[AlipayStandIn]:
    standin = AlipayStandIn()
    async with serving(standin.app()) as base:
        standin.url = base + "/gateway.do"
        yield standin
