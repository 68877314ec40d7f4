"""GCRA against a plain token bucket: the same decisions for any sequence of requests."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.rate_limit import Limiter, Rate


@dataclass
class TokenBucket:
    """The textbook model: `burst` tokens, refilled at `per_s`; a request takes one."""

    rate: Rate
    tokens: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)

    def allow(self, key: str, now: float) -> bool:
        tokens = self.tokens.get(key, float(self.rate.burst))
        tokens = min(self.rate.burst, tokens + (now - self.last.get(key, now)) * self.rate.per_s)
        self.last[key] = now
        if tokens >= 1:
            self.tokens[key] = tokens - 1
            return True
        self.tokens[key] = tokens
        return False


# Powers of two and times in 1/1024 s keep every sum exact in binary floating point, so
# the model and the limiter can be compared decision by decision.
rates = st.builds(Rate, st.sampled_from([1.0, 2.0, 4.0, 8.0, 16.0]), st.integers(1, 6))
steps = st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 2048)), max_size=60)


@settings(max_examples=300, deadline=None)
@given(rate=rates, steps=steps)
def test_gcra_decides_as_a_token_bucket(rate: Rate, steps: list[tuple[str, int]]) -> None:
    limiter, bucket = Limiter(rate), TokenBucket(rate)
    now = 0.0
    for key, gap in steps:
        now += gap / 1024
        assert (limiter.wait_s(key, now) == 0.0) == bucket.allow(key, now), (key, now)


def test_a_refusal_says_how_long_to_wait() -> None:
    limiter = Limiter(Rate(2, 3))
    assert [limiter.wait_s("v", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait_s("v", 0.0) == 0.5
    assert limiter.wait_s("v", 0.5) == 0.0  # waited as told: allowed
    assert limiter.wait_s("other", 0.5) == 0.0  # keys are independent


def test_memory_is_bounded_and_forgetting_idle_keys_changes_nothing() -> None:
    limiter = Limiter(Rate(1, 1), keys_kept=100)
    for i in range(1000):
        assert limiter.wait_s(f"k{i}", float(i)) == 0.0
    assert len(limiter._tats) <= 100
    assert limiter.wait_s("k999", 999.5) > 0  # a busy key is still remembered


def test_off_means_no_limit() -> None:
    limiter = Limiter(Rate(0, 1))
    assert all(limiter.wait_s("v", 0.0) == 0.0 for _ in range(10_000))
