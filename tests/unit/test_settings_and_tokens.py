from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from server import demo_secrets
from server.errors import BadInput, Unauthorized
from server.gateway.auth import ViewerTokens
from server.settings import Settings
from server.store.connection import cluster_nodes, is_cluster_url

GOOD = {
    "LIVEROOM_OPS_TOKEN": "o" * 32,
    "LIVEROOM_SECRET": "s" * 32,
    "LIVEROOM_PAYMENT_SECRET": "p" * 32,
}


def test_settings_read_the_environment() -> None:
    env = {
        **GOOD,
        "LIVEROOM_CLOCK": "simulated",
        "LIVEROOM_DEMO_LOGIN": "1",
        "REDIS_URL": "redis://x:1/0",
        "LIVEROOM_CLOCK_SPEED": "120",
    }
    s = Settings.from_env(env)
    assert s.simulated_clock and s.demo_login and s.redis_url == "redis://x:1/0"
    assert s.clock_speed == 120


def test_a_cluster_url_names_its_seed_nodes() -> None:
    url = "rediss+cluster://user:pw@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002/"
    s = Settings.from_env({**GOOD, "REDIS_URL": url})
    assert s.redis_url == url and is_cluster_url(url) and not is_cluster_url("redis://x:1/0")
    assert cluster_nodes(url) == [("10.0.0.1", 7000), ("10.0.0.2", 7001), ("::1", 7002)]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LIVEROOM_CLOCK", "sundial"),
        ("LIVEROOM_DEMO_LOGIN", "maybe"),
        ("LIVEROOM_CLOCK_SPEED", "fast"),
        ("LIVEROOM_CLOCK_SPEED", "0"),
        ("LIVEROOM_CLOCK_START", "2026-09-01T00:00:00"),
        ("LIVEROOM_KEY_PREFIX", "a:b"),
        ("LIVEROOM_SECRET", "short"),
        ("LIVEROOM_OPS_TOKEN", ""),
        ("LIVEROOM_TOKEN_TTL_S", "-5"),
        ("LIVEROOM_SECRET", "s" * 31),  # under 32 bytes
        ("LIVEROOM_OPS_TOKEN", "demo-ops-token-change-me"),  # published in an old README
        ("LIVEROOM_PAYMENT_SECRET", "demo-payment-secret-change-me"),
        ("LIVEROOM_PAYMENT_SECRET", "s" * 32),  # the same as LIVEROOM_SECRET
        ("LIVEROOM_HEADER_TIMEOUT_S", "0"),
        ("LIVEROOM_MAX_CONNECTIONS", "lots"),
        ("REDIS_URL", "redis+cluster://127.0.0.1"),  # a cluster node without its port
        ("REDIS_URL", "redis+cluster://a:7000,b:http"),
        ("REDIS_URL", "redis+cluster://"),
        ("LIVEROOM_DURABILITY", "paranoid"),
        ("LIVEROOM_DURABILITY", "replicated"),  # without REDIS_URL: no replica to wait for
    ],
)
def test_bad_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(BadInput) as caught:
        Settings.from_env({**GOOD, name: value})
    assert caught.value.field == name


def test_demo_login_needs_the_simulated_clock() -> None:
    with pytest.raises(BadInput) as caught:
        Settings.from_env({**GOOD, "LIVEROOM_DEMO_LOGIN": "1"})
    assert caught.value.field == "LIVEROOM_DEMO_LOGIN"
    assert Settings.from_env({**GOOD, "LIVEROOM_DEMO_LOGIN": "1", "LIVEROOM_CLOCK": "simulated"})


def test_fresh_secrets_pass_and_differ() -> None:
    made = demo_secrets.fresh()
    settings = Settings.from_env(made)
    assert settings.ops_token == made["LIVEROOM_OPS_TOKEN"]
    assert settings.logistics_secret == made["LIVEROOM_LOGISTICS_SECRET"]
    assert settings.notify_secret == made["LIVEROOM_NOTIFY_SECRET"]
    assert len(set(made.values())) == 5 and made != demo_secrets.fresh()


def test_a_notice_webhook_needs_its_own_secret() -> None:
    made = demo_secrets.fresh()
    url = {"LIVEROOM_NOTIFY_URL": "https://sms.example/hook"}
    without = {k: v for k, v in made.items() if k != "LIVEROOM_NOTIFY_SECRET"}
    with pytest.raises(BadInput) as missing:
        Settings.from_env({**without, **url})
    assert missing.value.field == "LIVEROOM_NOTIFY_SECRET"
    with pytest.raises(BadInput) as bad_url:
        Settings.from_env({**made, "LIVEROOM_NOTIFY_URL": "ftp://x"})
    assert bad_url.value.field == "LIVEROOM_NOTIFY_URL"
    assert Settings.from_env({**made, **url}).notify_url == url["LIVEROOM_NOTIFY_URL"]


def test_the_demo_keeps_its_own_secrets_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    first = demo_secrets.for_demo(data_dir)
    assert demo_secrets.for_demo(data_dir) == first  # kept, not remade
    assert len(first[demo_secrets.ADMIN_PASSWORD]) >= 16  # the console's admin, its own too
    assert stat.S_IMODE((data_dir / demo_secrets.FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert demo_secrets.for_demo(tmp_path / "other") != first


def test_a_demo_from_before_the_console_keeps_its_secrets_and_gains_a_password(
    tmp_path: Path,
) -> None:
    old = demo_secrets.fresh()
    demo_secrets.write_private(
        demo_secrets.private_dir(tmp_path) / demo_secrets.FILE, demo_secrets.as_env(old)
    )
    now = demo_secrets.for_demo(tmp_path)
    assert {k: now[k] for k in old} == old  # viewers' tokens and Valkey's password still hold
    assert len(now[demo_secrets.ADMIN_PASSWORD]) >= 16
    assert demo_secrets.load(tmp_path) == now


def test_viewer_token_names_its_user() -> None:
    tokens = ViewerTokens("k" * 32, ttl_s=60)
    token, expires = tokens.issue("alice")
    assert tokens.user(token) == "alice"
    assert expires.timestamp() > time.time()


def test_tampered_or_foreign_tokens_are_refused() -> None:
    tokens = ViewerTokens("k" * 32, ttl_s=60)
    token, _ = tokens.issue("alice")
    with pytest.raises(Unauthorized):
        tokens.user(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    with pytest.raises(Unauthorized):
        ViewerTokens("other" * 8, ttl_s=60).user(token)


def test_expired_token_is_refused() -> None:
    an_hour_ago = time.time() - 3600
    token, _ = ViewerTokens("k" * 32, ttl_s=7200).issue("alice", now=an_hour_ago)
    assert ViewerTokens("k" * 32, ttl_s=7200).user(token) == "alice"
    stale, _ = ViewerTokens("k" * 32, ttl_s=60).issue("alice", now=an_hour_ago)
    with pytest.raises(Unauthorized, match="expired"):
        ViewerTokens("k" * 32, ttl_s=60).user(stale)


def test_a_remembered_token_still_expires_and_a_bad_one_is_never_remembered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tokens = ViewerTokens("k" * 32, ttl_s=60)
    token, _ = tokens.issue("alice")
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    for _ in range(2):  # the second time from what was remembered
        assert tokens.user(token) == "alice"
        with pytest.raises(Unauthorized, match="not valid"):
            tokens.user(forged)
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(Unauthorized, match="expired"):
        tokens.user(token)


@pytest.mark.parametrize("token", ["", ".", "abc", "abc.def", "!!!.???", "e30.e30"])
def test_garbage_tokens_are_refused_not_crashed_on(token: str) -> None:
    with pytest.raises(Unauthorized, match="not valid"):
        ViewerTokens("k" * 32, ttl_s=60).user(token)


def _wechat_env(folder: Path) -> dict[str, str]:
    (folder / "key.pem").write_text("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n")
    (folder / "pub.pem").write_text("-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n")
    return {
        **GOOD,
        "LIVEROOM_PUBLIC_URL": "https://live.example.com",
        "LIVEROOM_WECHATPAY_MCHID": "1900000109",
        "LIVEROOM_WECHATPAY_APPID": "wx0123456789abcdef",
        "LIVEROOM_WECHATPAY_PRIVATE_KEY_FILE": str(folder / "key.pem"),
        "LIVEROOM_WECHATPAY_CERT_SERIAL_NO": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
        "LIVEROOM_WECHATPAY_APIV3_KEY": "k" * 32,
        "LIVEROOM_WECHATPAY_PUBLIC_KEY_FILE": str(folder / "pub.pem"),
        "LIVEROOM_WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_0119000001092025",
    }


def test_a_wechat_pay_account_makes_wechat_the_viewers_provider(tmp_path: Path) -> None:
    s = Settings.from_env(_wechat_env(tmp_path))
    assert s.wechatpay is not None and s.wechatpay.mchid == "1900000109"
    assert s.payment_providers == ("wechat",)
    both = Settings.from_env(
        {**_wechat_env(tmp_path), "LIVEROOM_PAYMENT_PROVIDERS": "wechat, sandbox"}
    )
    assert both.payment_providers == ("wechat", "sandbox")
    assert Settings.from_env(GOOD).payment_providers == ("sandbox",)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LIVEROOM_WECHATPAY_APPID", "wx123"),
        ("LIVEROOM_WECHATPAY_MCHID", "merchant"),
        ("LIVEROOM_WECHATPAY_APIV3_KEY", "short"),
        ("LIVEROOM_WECHATPAY_CERT_SERIAL_NO", "not hex!"),
        ("LIVEROOM_WECHATPAY_PUBLIC_KEY_ID", "12345"),
        ("LIVEROOM_WECHATPAY_PRIVATE_KEY_FILE", "/nonexistent/key.pem"),
        ("LIVEROOM_WECHATPAY_PUBLIC_KEY_FILE", ""),
        ("LIVEROOM_WECHATPAY_API_URL", "ftp://x"),
        ("LIVEROOM_PUBLIC_URL", ""),
        ("LIVEROOM_PAYMENT_PROVIDERS", "wechat,alipay"),
        ("LIVEROOM_PAYMENT_PROVIDERS", "wechat,wechat"),
    ],
)
def test_a_bad_wechat_pay_setting_names_its_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(BadInput) as caught:
        Settings.from_env({**_wechat_env(tmp_path), name: value})
    assert caught.value.field == name


def test_wechat_offered_without_an_account_is_refused() -> None:
    with pytest.raises(BadInput) as caught:
        Settings.from_env({**GOOD, "LIVEROOM_PAYMENT_PROVIDERS": "sandbox,wechat"})
    assert caught.value.field == "LIVEROOM_PAYMENT_PROVIDERS"


def test_an_alipay_app_is_offered_after_wechat_pay_and_checked(tmp_path: Path) -> None:
    env = {
        **_wechat_env(tmp_path),
        "LIVEROOM_ALIPAY_APPID": "2021004100000001",
        "LIVEROOM_ALIPAY_PRIVATE_KEY_FILE": str(tmp_path / "key.pem"),
        "LIVEROOM_ALIPAY_PUBLIC_KEY_FILE": str(tmp_path / "pub.pem"),
    }
    s = Settings.from_env(env)
    assert s.alipay is not None and s.payment_providers == ("wechat", "alipay")
    for name, value in [
        ("LIVEROOM_ALIPAY_APPID", "20210041"),
        ("LIVEROOM_ALIPAY_PUBLIC_KEY_FILE", str(tmp_path / "key.pem")),
        ("LIVEROOM_ALIPAY_GATEWAY", "gateway.do"),
    ]:
        with pytest.raises(BadInput) as caught:
            Settings.from_env({**env, name: value})
        assert caught.value.field == name
