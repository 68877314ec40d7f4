"""WeChat Pay's 商家转账 rules the adapter keeps before asking (no server of ours needed):
a transfer from ¥2,000 without the payee's real name is refused here, with the reason, and
never sent (WeChat would refuse it; the SDK would raise)."""

from __future__ import annotations

from pathlib import Path

from server.domain.payouts import NAME_NEEDED, NAME_NEEDED_FEN
from server.payments.providers import TransferAsk
from server.payments.wechat import WeChatPay
from tests.wechatpay_standin import wechatpay_standin

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


async def test_a_large_transfer_without_the_payees_name_is_refused_not_retried(
    tmp_path: Path,
) -> None:
    async with wechatpay_standin() as standin:
        wechat = WeChatPay(standin.config(tmp_path), "https://live.example.com/notify")
        try:
            ask = TransferAsk("po1767225600000x1", OPENID, "", NAME_NEEDED_FEN, "佣金")
            answer = await wechat.transfer(ask)
            named = await wechat.transfer(
                TransferAsk("po1767225600000x2", OPENID, "王小明", NAME_NEEDED_FEN, "佣金")
            )
        finally:
            await wechat.close()
        assert (answer.state, answer.detail) == ("refused", NAME_NEEDED)
        assert named.state == "processing"
        assert list(standin.transfer_asks) == ["po1767225600000x2"]  # the first never went
