"""The providers' daily statements checked against the ledger: downloaded through each
provider's API (WeChat Pay's gzipped trade bill, Alipay's zipped GBK bill) from the console,
or read from a saved file by `liveroom reconcile --provider`; clean when they agree, every
line lost, added or different named when they do not. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from server.payments.wechat import trade_no
from tests.alipay_standin import extra_payment as alipay_extra
from tests.integration.conftest import Serve
from tests.integration.test_alipay import pay_with_alipay, with_providers
from tests.integration.test_console_roles import signed_in
from tests.integration.test_wechatpay import (
    ledger_sends,
    pay_at_wechat,
    refunds_finished_by_wechat,
    with_wechat,
)
from tests.server_harness import eventually
from tests.wechatpay_standin import extra_payment as wechat_extra

DAY = "2026-09-01"  # the campaign's first evening, Beijing time


def form(csrf: str, provider: str, day: str) -> dict[str, str]:
    return {"csrf": csrf, "provider": provider, "date": day}


async def test_wechat_pays_statement_agrees_then_every_difference_is_named(
    serve_with_ledger: Serve, tmp_path: Path, ledger_url: str
) -> None:
    async with with_wechat(serve_with_ledger, tmp_path) as (s, standin):
        buyers = [await s.login(f"w{i}") for i in range(3)]
        payments = []
        for h in buyers:
            order = await s.order(h, mode="direct", qty=1)
            payments.append(await pay_at_wechat(s, standin, h, order["order_id"]))
        r = await s.client.post(
            f"/api/v1/ops/orders/{payments[0]['order_id']}/refund", json={}, headers=s.ops
        )
        assert r.status_code == 200, r.text
        await refunds_finished_by_wechat(s, standin, ledger_url, 1)
        async with signed_in(s, "qian.fin", "finance") as (client, csrf):
            page = await client.get("/console/finance")
            assert "还没有核对过渠道账单" in page.text and 'name="provider"' in page.text
            checked = await client.post(
                "/console/finance/statements",
                data=form(csrf, "wechat", DAY),
            )
            assert checked.status_code == 303, checked.text
            page = await client.get("/console/finance")
            row = page.text.split(f'data-check="wechat-{DAY}"')[1].split("</tr>")[0]
            assert "一致" in row and "不一致" not in row and ">4<" in row  # 3 payments, 1 refund

            lost = trade_no(payments[1]["payment_id"])
            standin.bill_drop.add(lost)
            standin.bill_extra.append(wechat_extra("lrnotours0000001", 1000))
            await client.post(
                "/console/finance/statements",
                data=form(csrf, "wechat", DAY),
            )
            page = await client.get("/console/finance")
            row = page.text.split(f'data-check="wechat-{DAY}"')[1].split("</tr>")[0]
            assert "2 处不一致" in row
            assert f"payment {lost}: in the ledger (36800 fen), not on the statement" in row
            assert "payment lrnotours0000001: on the statement (1000 fen), not in the ledger" in row
            bad = await client.post(
                "/console/finance/statements",
                data=form(csrf, "wechat", "9/1"),
            )
            assert bad.status_code == 422

        saved = tmp_path / "wechat-bill.csv"
        saved.write_text(standin.bill_csv())
        env = {**os.environ, "DATABASE_URL": ledger_url, "LIVEROOM_DATA_DIR": str(tmp_path)}
        cli = subprocess.run(
            [sys.executable, "-m", "server", "reconcile", "--provider", "wechat", "--date", DAY,
             "--file", str(saved)],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert cli.returncode == 1, cli.stdout + cli.stderr
        assert "wechat 2026-09-01: 4 lines, 3 matched" in cli.stdout
        assert cli.stdout.count("MISMATCH") == 2
        standin.bill_drop.clear()
        standin.bill_extra.clear()
        saved.write_text(standin.bill_csv())
        clean = subprocess.run(
            [sys.executable, "-m", "server", "reconcile", "--provider", "wechat", "--date", DAY,
             "--file", str(saved)],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert clean.returncode == 0 and "clean" in clean.stdout, clean.stdout + clean.stderr


async def test_alipays_zipped_statement_is_read_and_checked(
    serve_with_ledger: Serve, tmp_path: Path, ledger_url: str
) -> None:
    async with with_providers(serve_with_ledger, tmp_path) as (s, alipay, _):
        buyers = [await s.login(f"a{i}") for i in range(2)]
        orders = []
        for h in buyers:
            order = await s.order(h, mode="direct", qty=1)
            orders.append(order)
            await pay_with_alipay(s, alipay, h, order["order_id"])
        r = await s.client.post(
            f"/api/v1/ops/orders/{orders[0]['order_id']}/refund", json={}, headers=s.ops
        )
        assert r.status_code == 200, r.text
        await eventually(
            lambda: ledger_sends(ledger_url),
            lambda found: len(found) == 1 and found[0]["state"] == "succeeded",
            20,
        )
        alipay.bill_extra.append(alipay_extra("lrnotours0000002", "10.00"))
        async with signed_in(s, "qian.fin", "finance") as (client, csrf):
            checked = await client.post(
                "/console/finance/statements",
                data=form(csrf, "alipay", DAY),
            )
            assert checked.status_code == 303, checked.text
            page = await client.get("/console/finance")
        row = page.text.split(f'data-check="alipay-{DAY}"')[1].split("</tr>")[0]
        assert "1 处不一致" in row and ">4<" in row and ">3<" in row  # 2 paid, 1 refund, 1 stray
        assert "payment lrnotours0000002: on the statement (1000 fen), not in the ledger" in row
