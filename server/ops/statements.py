"""Checking a provider's daily statement against the ledger: read the bill (downloaded from
the provider, or a file ops saved), match it (domain/statements.py), keep the result."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.statements import BillLine, Matching, match
from server.errors import BadInput
from server.ledger import statement_checks
from server.payments.alipay import Alipay
from server.payments.bills import BadBill, alipay_lines, wechat_lines
from server.payments.wechat import WeChatPay

STATEMENT_PROVIDERS = ("wechat", "alipay")


def read_bill(provider: str, path: Path) -> list[BillLine]:
    """A statement file as the provider delivers it (WeChat's CSV, gzipped or not; Alipay's
    zip or its detail CSV)."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc}", "file") from None
    if provider == "alipay":
        return alipay_lines(content)
    if content[:2] == b"\x1f\x8b":
        content = gzip.decompress(content)
    try:
        return wechat_lines(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadBill("not UTF-8 text", "file") from None


async def download_bill(
    provider: str, wechat: WeChatPay | None, alipay: Alipay | None, day: date
) -> list[BillLine]:
    if provider == "wechat" and wechat is not None:
        return await wechat.statement(day)
    if provider == "alipay" and alipay is not None:
        return await alipay.statement(day)
    raise BadInput(f"{provider} is not configured here", "provider", "payments_not_configured")


async def check(
    engine: AsyncEngine, provider: str, day: date, bill: list[BillLine], now_ms: int
) -> Matching:
    result = match(bill, await statement_checks.booked(engine, provider, day))
    await statement_checks.save(engine, provider, day, result, now_ms)
    return result
