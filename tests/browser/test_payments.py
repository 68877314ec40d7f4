"""Paying at the real providers from the phone: where the merchant takes WeChat Pay and
Alipay the live room asks which; outside WeChat, WeChat Pay shows a QR code to scan (a
Native payment) and the order turns paid when WeChat's notification lands; Alipay sends the
buyer to its cashier. A distributor confirms a commission transfer in WeChat's own sheet and
sees it arrive. Finance sends a refund Alipay refused again from the console. Against the
stand-ins of each provider's API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.alipay_standin import alipay_standin
from tests.browser.conftest import enabled, phone, shot, wait_until
from tests.browser.test_console import laptop, sign_in
from tests.browser.test_live_room import no_english, ready, text_of
from tests.integration.conftest import Serve
from tests.integration.test_alipay import a_refund_alipay_refuses
from tests.integration.test_payouts import OPENID, earned, with_transfers
from tests.server_harness import eventually
from tests.wechatpay_standin import APPID, MCHID, wechatpay_standin

NOTIFY = "/api/v1/payments/wechat/notify"
BUTTON = "!!document.querySelector('button[data-send-again]')"


async def test_a_viewer_picks_wechat_scans_the_code_or_goes_to_alipays_cashier(
    serve_page: Serve, browser: Any, tmp_path: Path
) -> None:
    async with alipay_standin() as alipay, wechatpay_standin() as wechat:
        async with serve_page(
            wechatpay=wechat.config(tmp_path),
            alipay=alipay.config(tmp_path),
            payment_providers=("wechat", "alipay"),
            public_url="https://live.example.com",
        ) as s:
            page = await phone(browser)
            await ready(page, f"{s.base_url}/live/mid-autumn")
            await wait_until(page, enabled("button[data-offer=direct]"))
            await page.click("button[data-offer=direct]")
            await wait_until(page, "document.getElementById('pay-dialog').open")
            choices = await page.evaluate(
                "[...document.querySelectorAll('#pay-choices button')].map((b) => b.textContent)"
            )
            assert choices == ["微信支付", "支付宝"]
            await no_english(page, "choosing how to pay")
            await page.click("#pay-choices button[data-provider=wechat]")
            await wait_until(
                page, "document.getElementById('pay-qr-image').naturalWidth > 0"
            )  # the code_url drawn as a QR code
            await shot(page, "live-pay-wechat-qr")
            await no_english(page, "the WeChat QR code")
            [no] = list(wechat.trades)
            body, headers = wechat.pay(no)
            assert (await s.client.post(NOTIFY, content=body, headers=headers)).status_code == 200
            await page.click("#pay-close")
            await wait_until(page, f"{text_of('orders')}.includes('已支付')", 15)

            other = await phone(browser)
            await ready(other, f"{s.base_url}/live/mid-autumn")
            await wait_until(other, enabled("button[data-offer=direct]"))
            await other.click("button[data-offer=direct]")
            await wait_until(other, "document.getElementById('pay-dialog').open")
            await other.click("#pay-choices button[data-provider=alipay]")
            await other.wait_for_url(f"{alipay.url}?*")
            assert "收银台" in await other.content()
            [trade] = list(alipay.trades)
            form, form_headers = alipay.pay(trade)
            notified = await s.client.post(
                "/api/v1/payments/alipay/notify", content=form, headers=form_headers
            )
            assert notified.text == "success"
            await ready(other, f"{s.base_url}/live/mid-autumn")  # back from the cashier
            await wait_until(other, f"{text_of('orders')}.includes('已支付')", 15)
            assert (await s.reconcile()).problems == []


# WeChat's in-app browser as far as the page sees it: the bridge, whose confirmation sheet
# answers once the test says the payee pressed confirm (window.payeeConfirmed)
IN_WECHAT = """
localStorage.setItem("liveroom.user", "dist");
window.WeixinJSBridge = {
  asked: [],
  invoke(name, request, answer) {
    this.asked.push({ name, request });
    window.payeeConfirmed = () => answer({ err_msg: name + ":ok" });
  },
};
"""


async def test_a_distributor_confirms_a_wechat_transfer_and_sees_it_arrive(
    serve_page: Serve, browser: Any, tmp_path: Path
) -> None:
    async with with_transfers(serve_page, tmp_path) as (s, wechat):
        _, code = await earned(s, "dist", OPENID)
        await s.client.post(f"/api/v1/ops/distributors/{code}/payouts", headers=s.ops)
        page = await phone(browser)
        await page.add_init_script(IN_WECHAT)
        await ready(page, f"{s.base_url}/live/mid-autumn/distributor")
        await wait_until(page, enabled("button[data-confirm]"), 20)
        assert "请在微信中确认收款" in await page.evaluate(text_of("payouts"))
        await shot(page, "distributor-confirm-receipt")
        await no_english(page, "a transfer waiting for the payee")
        # campaign time nearly stops: only the page's word makes the worker ask again
        await s.advance(0.001, speed=0.001)
        await page.click("button[data-confirm]")
        [asked] = await page.evaluate("window.WeixinJSBridge.asked")
        [transfer] = wechat.transfers.values()
        request = {"mchId": MCHID, "appId": APPID, "package": transfer["package_info"]}
        assert asked == {"name": "requestMerchantTransfer", "request": request}
        wechat.confirm_receipt(MCHID, APPID, transfer["package_info"])
        await page.evaluate("window.payeeConfirmed()")
        await wait_until(page, f"{text_of('payouts')}.includes('已到账')", 15)
        assert not await page.evaluate("!!document.querySelector('button[data-confirm]')")
        await shot(page, "distributor-payout-arrived")
        assert (await s.reconcile()).problems == []


async def test_finance_sends_a_refused_refund_again_from_the_console(
    serve_page: Serve, browser: Any, tmp_path: Path
) -> None:
    async with alipay_standin() as alipay:
        async with serve_page(
            alipay=alipay.config(tmp_path),
            payment_providers=("alipay",),
            public_url="https://live.example.com",
        ) as s:
            await a_refund_alipay_refuses(s, alipay)
            page = await laptop(browser)
            await sign_in(page, s, "qian.fin", "finance")

            async def refused_shown() -> bool:
                await page.goto(f"{s.base_url}/console/finance")
                return bool(await page.evaluate(BUTTON))

            await eventually(refused_shown, bool, 20)
            assert "ACQ.SELLER_BALANCE_NOT_ENOUGH" in await page.inner_text("#refund-sends")
            await shot(page, "console-refund-refused")
            alipay.refuse_refunds = ""  # the merchant topped the balance up
            await page.click("button[data-send-again]")
            await page.wait_for_url("**done=refund_sent_again")
            assert "已重新发起退款" in await page.inner_text("#messages")

            [trade] = alipay.trades.values()

            async def gone_back() -> bool:  # at Alipay, and so off the page's troubles
                await page.goto(f"{s.base_url}/console/finance")
                return trade.refunded == trade.total and not await page.evaluate(BUTTON)

            await eventually(gone_back, bool, 20)
            assert "没有被拒或超时的退款" in await page.inner_text("#refund-sends")
            assert not page.csp_refusals
            assert (await s.reconcile()).problems == []
