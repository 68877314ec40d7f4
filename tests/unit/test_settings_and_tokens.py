from __future__ import annotations

import time

import pytest

from server.errors import BadInput, Unauthorized
from server.gateway.auth import ViewerTokens
from server.settings import Settings

GOOD = {
    "LIVEROOM_OPS_TOKEN": "o" * 16,
    "LIVEROOM_SECRET": "s" * 16,
    "LIVEROOM_PAYMENT_SECRET": "p" * 16,
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
    ],
)
def test_bad_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(BadInput) as caught:
        Settings.from_env({**GOOD, name: value})
    assert caught.value.field == name


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
