"""Rate limits as plain rules: GCRA, the generic cell rate algorithm (what redis-cell and
most API gateways use), over a plain dict.

A key may make `burst` requests at once and then `per_s` a second. Each key keeps one
number, its theoretical arrival time (TAT): a request at `now` is allowed when
TAT - now <= (burst - 1) / per_s, and moves TAT on by 1 / per_s. A refused request changes
nothing and learns how long to wait.

Why not the `limits` package: its fastest in-memory strategy costs ~5.4 µs a hit here
(a lock, a counter and an expiry per key), two hits an order ~10% of the order path; this
is ~0.5 µs, and the spike benchmark's budget for limits is 5%.
"""

from __future__ import annotations

from dataclasses import dataclass

KEYS_KEPT = 200_000  # per limiter; idle keys are forgotten first


@dataclass(frozen=True)
class Rate:
    per_s: float  # sustained requests a second; 0: no limit
    burst: int  # requests allowed at once

    @property
    def off(self) -> bool:
        return self.per_s <= 0


class Limiter:
    def __init__(self, rate: Rate, keys_kept: int = KEYS_KEPT) -> None:
        self.rate = rate
        self._interval = 1.0 / rate.per_s if not rate.off else 0.0
        self._tolerance = self._interval * (rate.burst - 1)
        self._tats: dict[str, float] = {}
        self._keys_kept = keys_kept

    def wait_s(self, key: str, now: float) -> float:
        """0.0 if a request from key is allowed now (and count it), else the seconds it
        must wait before the next one would be."""
        if self._interval == 0.0:
            return 0.0
        tat = self._tats.get(key, now)
        if tat < now:
            tat = now
        early = tat - now - self._tolerance
        if early > 0:
            return early
        if key not in self._tats and len(self._tats) >= self._keys_kept:
            self._forget(now)
        self._tats[key] = tat + self._interval
        return 0.0

    def _forget(self, now: float) -> None:
        """Drop keys whose allowance is whole again (forgetting them changes nothing); if
        every key is busy (a flood of new ones), drop the oldest half."""
        idle = [key for key, tat in self._tats.items() if tat <= now]
        for key in idle:
            del self._tats[key]
        if len(self._tats) >= self._keys_kept:
            for key in list(self._tats)[: len(self._tats) // 2]:
                del self._tats[key]
