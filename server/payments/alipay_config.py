"""How a merchant's Alipay open-platform app is configured (RSA2 with the public-key mode):
read from the environment and checked before anything starts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from server.errors import BadInput
from server.payments.pem import read_pem

OFFICIAL_GATEWAY = "https://openapi.alipay.com/gateway.do"
NOTIFY_PATH = "/api/v1/payments/alipay/notify"

_APPID = re.compile(r"^[0-9]{16}$")


@dataclass(frozen=True)
class AlipayConfig:
    appid: str  # the open-platform app's APPID (16 digits)
    private_key: str  # the app's private key (PEM): signs every request
    alipay_public_key: str  # 支付宝公钥 (PEM): checks answers and notifications
    gateway: str = OFFICIAL_GATEWAY  # another only for a stand-in in tests

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AlipayConfig | None:
        if not env.get("LIVEROOM_ALIPAY_APPID"):
            return None
        config = cls(
            appid=env["LIVEROOM_ALIPAY_APPID"],
            private_key=read_pem(env, "LIVEROOM_ALIPAY_PRIVATE_KEY_FILE"),
            alipay_public_key=read_pem(env, "LIVEROOM_ALIPAY_PUBLIC_KEY_FILE"),
            gateway=env.get("LIVEROOM_ALIPAY_GATEWAY") or OFFICIAL_GATEWAY,
        )
        config.validate()
        return config

    def validate(self) -> None:
        v = "LIVEROOM_ALIPAY_"
        checks = [
            (_APPID.fullmatch(self.appid), "16 digits", "APPID"),
            ("PRIVATE KEY" in self.private_key, "a PEM private key", "PRIVATE_KEY_FILE"),
            ("PUBLIC KEY" in self.alipay_public_key, "a PEM public key", "PUBLIC_KEY_FILE"),
            (self.gateway.startswith(("https://", "http://")), "an http(s) URL", "GATEWAY"),
        ]
        for ok, expected, field in checks:
            if not ok:
                raise BadInput(f"must be {expected}", v + field)
