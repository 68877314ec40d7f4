"""How a merchant's WeChat Pay account is configured (API v3, direct merchant, the platform
public key mode): read from the environment and checked before anything starts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from server.errors import BadInput
from server.payments.pem import read_pem

OFFICIAL_API = "https://api.mch.weixin.qq.com"
NOTIFY_PATH = "/api/v1/payments/wechat/notify"

_MCHID = re.compile(r"^[0-9]{6,32}$")
_APPID = re.compile(r"^wx[0-9A-Za-z]{16}$")
_SERIAL = re.compile(r"^[0-9A-Fa-f]{8,64}$")
_PUBLIC_KEY_ID = re.compile(r"^PUB_KEY_ID_[0-9A-Za-z]{1,64}$")


@dataclass(frozen=True)
class WeChatPayConfig:
    mchid: str  # 商户号
    appid: str  # the mini-program's or official account's AppID
    private_key: str  # the merchant API certificate's private key (PEM)
    cert_serial_no: str  # that certificate's serial number
    apiv3_key: str  # 32 bytes: decrypts notifications
    public_key: str  # 微信支付公钥 (PEM): checks the platform's signatures
    public_key_id: str  # PUB_KEY_ID_...
    api_url: str = OFFICIAL_API  # another only for a stand-in in tests

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WeChatPayConfig | None:
        if not env.get("LIVEROOM_WECHATPAY_MCHID"):
            return None
        config = cls(
            mchid=env["LIVEROOM_WECHATPAY_MCHID"],
            appid=env.get("LIVEROOM_WECHATPAY_APPID", ""),
            private_key=read_pem(env, "LIVEROOM_WECHATPAY_PRIVATE_KEY_FILE"),
            cert_serial_no=env.get("LIVEROOM_WECHATPAY_CERT_SERIAL_NO", ""),
            apiv3_key=env.get("LIVEROOM_WECHATPAY_APIV3_KEY", ""),
            public_key=read_pem(env, "LIVEROOM_WECHATPAY_PUBLIC_KEY_FILE"),
            public_key_id=env.get("LIVEROOM_WECHATPAY_PUBLIC_KEY_ID", ""),
            api_url=env.get("LIVEROOM_WECHATPAY_API_URL") or OFFICIAL_API,
        )
        config.validate()
        return config

    def validate(self) -> None:
        v = "LIVEROOM_WECHATPAY_"
        checks = [
            (_MCHID.fullmatch(self.mchid), "digits", "MCHID"),
            (_APPID.fullmatch(self.appid), "wx and 16 letters or digits", "APPID"),
            ("PRIVATE KEY" in self.private_key, "a PEM private key", "PRIVATE_KEY_FILE"),
            (_SERIAL.fullmatch(self.cert_serial_no), "a hex serial number", "CERT_SERIAL_NO"),
            (len(self.apiv3_key.encode()) == 32, "exactly 32 bytes", "APIV3_KEY"),
            ("PUBLIC KEY" in self.public_key, "a PEM public key", "PUBLIC_KEY_FILE"),
            (_PUBLIC_KEY_ID.fullmatch(self.public_key_id), "PUB_KEY_ID_...", "PUBLIC_KEY_ID"),
            (self.api_url.startswith(("https://", "http://")), "an http(s) URL", "API_URL"),
        ]
        for ok, expected, field in checks:
            if not ok:
                raise BadInput(f"must be {expected}", v + field)
