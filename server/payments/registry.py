"""Which payment providers this deployment runs (settings): one client each, made once per
process; the refund sender takes them by name, the payment follower those it can ask, the
gateway the ones it opens payments and reads notifications with."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from server.payments.alipay import Alipay
from server.payments.alipay_config import NOTIFY_PATH as ALIPAY_NOTIFY_PATH
from server.payments.providers import FollowsPayments, PaymentProvider, TransfersPayouts
from server.payments.sandbox import SandboxProvider
from server.payments.wechat import WeChatPay
from server.payments.wechat_config import NOTIFY_PATH
from server.settings import Settings
from server.store.keys import SandboxKeys
from server.store.scripts import Scripts


def wechat_pay(settings: Settings) -> WeChatPay | None:
    if settings.wechatpay is None:
        return None
    return WeChatPay(settings.wechatpay, settings.public_url.rstrip("/") + NOTIFY_PATH)


def alipay(settings: Settings) -> Alipay | None:
    if settings.alipay is None:
        return None
    return Alipay(settings.alipay, settings.public_url.rstrip("/") + ALIPAY_NOTIFY_PATH)


@dataclass(frozen=True)
class Providers:
    sandbox: SandboxProvider | None
    wechat: WeChatPay | None
    alipay: Alipay | None

    def refunds(self) -> dict[str, PaymentProvider]:
        """Refunds go back through the provider each payment names. The sandbox's go to the
        sandbox provider only where it is on (the demo, tests): the generic webhook has no
        refund API, so elsewhere they wait for ops."""
        found: dict[str, PaymentProvider] = {}
        for name, client in (
            ("sandbox", self.sandbox),
            ("wechat", self.wechat),
            ("alipay", self.alipay),
        ):
            if client is not None:
                found[name] = client
        return found

    def followed(self) -> dict[str, FollowsPayments]:
        """The providers whose silent payments the worker asks about."""
        found: dict[str, FollowsPayments] = {}
        if self.wechat is not None:
            found["wechat"] = self.wechat
        if self.alipay is not None:
            found["alipay"] = self.alipay
        return found

    def transfers(self) -> dict[str, TransfersPayouts]:
        """The providers payouts are sent through (WeChat Pay's 商家转账)."""
        return {"wechat": self.wechat} if self.wechat is not None else {}

    async def close(self) -> None:
        for client in self.refunds().values():
            await client.close()


def providers(settings: Settings, redis: Redis, scripts: Scripts) -> Providers:
    sandbox = None
    if settings.refund_sandbox:
        sandbox = SandboxProvider(redis, scripts, SandboxKeys(settings.key_prefix))
    return Providers(sandbox, wechat_pay(settings), alipay(settings))
