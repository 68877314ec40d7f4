"""Which payment providers this deployment runs (settings): the refund sender's by name, and
the WeChat Pay and Alipay clients the gateway opens payments and reads notifications with."""

from __future__ import annotations

from redis.asyncio import Redis

from server.payments.alipay import Alipay
from server.payments.alipay_config import NOTIFY_PATH as ALIPAY_NOTIFY_PATH
from server.payments.providers import PaymentProvider
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


def refund_providers(
    settings: Settings, redis: Redis, scripts: Scripts
) -> dict[str, PaymentProvider]:
    """The providers refunds go back through, by the name each payment carries. The
    sandbox's refunds go to the sandbox provider only where it is on (the demo, tests):
    the generic webhook has no refund API, so elsewhere they wait for ops."""
    providers: dict[str, PaymentProvider] = {}
    if settings.refund_sandbox:
        keys = SandboxKeys(settings.key_prefix)
        providers["sandbox"] = SandboxProvider(redis, scripts, keys)
    if wechat := wechat_pay(settings):
        providers["wechat"] = wechat
    if app := alipay(settings):
        providers["alipay"] = app
    return providers
