"""The providers' daily statements, read into statement lines (domain/statements.py).

WeChat Pay's trade bill (API v3 `tradebill`, bill_type ALL): a CSV whose every value starts
with a backtick, one row a payment (交易状态 SUCCESS) or a refund (REFUND), then a summary
after the 总交易单数 row. Alipay's trade bill (`alipay.data.dataservice.bill.downloadurl
.query`, bill_type trade): a zip of GBK CSVs; the 业务明细 one has # comment lines around a
header and rows of 交易 and 退款, refunds with negative amounts."""

from __future__ import annotations

import csv
import io
import zipfile

from server.domain.statements import PAYMENT, REFUND, BillLine
from server.errors import BadInput
from server.payments.money import fen_of


class BadBill(BadInput):
    """The statement is not in the provider's format; `field` names the column or line."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message, field, "bad_bill")


def wechat_lines(text: str) -> list[BillLine]:
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows or "商户订单号" not in rows[0]:
        raise BadBill("not a WeChat Pay trade bill: no header with 商户订单号", "header")
    header = rows[0]
    found = []
    for number, row in enumerate(rows[1:], start=2):
        if not row or row[0].startswith("总"):
            break  # the summary follows
        cells = dict(zip(header, (cell.lstrip("`").strip() for cell in row), strict=False))
        try:
            found.append(_wechat_line(cells))
        except (KeyError, ValueError) as exc:
            raise BadBill(f"line {number}: {exc}", f"line {number}") from None
    return found


def _wechat_line(cells: dict[str, str]) -> BillLine:
    fee = fen_of(cells["手续费"].lstrip("-")) * (-1 if cells["手续费"].startswith("-") else 1)
    if cells["交易状态"] == "REFUND":
        return BillLine(
            REFUND, cells["商户退款单号"], fen_of(cells["退款金额"]), fee, cells["微信退款单号"]
        )
    return BillLine(
        PAYMENT, cells["商户订单号"], fen_of(cells["订单金额"]), fee, cells["微信订单号"]
    )


def alipay_lines(content: bytes) -> list[BillLine]:
    """From the downloaded zip, or the detail CSV itself (GBK, as Alipay writes it)."""
    text = _alipay_detail(content)
    rows = [row for row in csv.reader(io.StringIO(text)) if row and not row[0].startswith("#")]
    if not rows or "商户订单号" not in [cell.strip() for cell in rows[0]]:
        raise BadBill("not an Alipay trade bill: no header with 商户订单号", "header")
    header = [cell.strip() for cell in rows[0]]
    found = []
    for number, row in enumerate(rows[1:], start=2):
        cells = dict(zip(header, (cell.strip() for cell in row), strict=False))
        try:
            found.append(_alipay_line(cells))
        except (KeyError, ValueError) as exc:
            raise BadBill(f"line {number}: {exc}", f"line {number}") from None
    return found


def _alipay_line(cells: dict[str, str]) -> BillLine:
    amount = cells["订单金额（元）"]
    fee_text = cells.get("服务费（元）") or "0"
    fee = fen_of(fee_text.lstrip("-")) * (-1 if fee_text.startswith("-") else 1)
    if cells["业务类型"] == "退款":
        ref = cells["退款批次号/请求号"]
        return BillLine(REFUND, ref, fen_of(amount.lstrip("-")), fee, cells["支付宝交易号"])
    return BillLine(PAYMENT, cells["商户订单号"], fen_of(amount), fee, cells["支付宝交易号"])


def _alipay_detail(content: bytes) -> str:
    if content.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            details = [
                info
                for info in archive.infolist()
                if _name(info).endswith(".csv") and "汇总" not in _name(info)
            ]
            if not details:
                raise BadBill("the zip holds no detail CSV", "file")
            content = archive.read(details[0])
    for encoding in ("gbk", "utf-8-sig"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BadBill("neither GBK nor UTF-8", "file")


def _name(info: zipfile.ZipInfo) -> str:
    """Zip names written without the UTF-8 flag read as cp437; Alipay's are GBK."""
    if info.flag_bits & 0x800:
        return info.filename
    return info.filename.encode("cp437").decode("gbk", errors="replace")
