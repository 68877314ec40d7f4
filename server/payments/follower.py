"""The worker's payment follower: a payment opened at WeChat Pay or Alipay whose notification
has not come (lost, or the provider slow or down) is asked about, with a growing pause
between asks; paid, it is settled exactly as its notification would have settled it; its
order gone on without it (expired, cancelled, paid another way), it is closed at the provider
so it can no longer take money, and marked failed. A payment the provider confirms after its
order ended is refunded by the settle script, as a late notification's would be."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.lifecycle import balance_due_ms, status_before
from server.ledger.payment_queries import Silent, silent_payments
from server.payments.providers import FollowsPayments, ProviderUnavailable
from server.runtime import Runtime

log = logging.getLogger("liveroom.payments")

FIRST_PAUSE_MS = 30_000
LONGEST_PAUSE_MS = 10 * 60_000
AT_ONCE = 100


@dataclass
class _Asked:
    times: int
    next_ms: int


class PaymentFollower:
    def __init__(
        self, runtime: Runtime, engine: AsyncEngine, providers: Mapping[str, FollowsPayments]
    ) -> None:
        self._runtime = runtime
        self._engine = engine
        self.providers = providers
        self._asked: dict[str, _Asked] = {}  # kept in memory: after a restart, ask at once

    async def step(self) -> int:
        """Ask about what is due; returns how many payments were settled or closed."""
        if not self.providers:
            return 0
        now = self._runtime.clock.now_ms()
        done = 0
        for payment in await self._silent(now):
            asked = self._asked.get(payment.payment_id)
            if asked and asked.next_ms > now:
                continue
            try:
                done += await self._follow(payment, self.providers[payment.provider])
            except ProviderUnavailable as exc:
                log.warning(
                    "payment %s: %s unavailable: %s", payment.payment_id, payment.provider, exc
                )
                self._pause(payment.payment_id, now)
        return done

    async def _silent(self, now: int) -> list[Silent]:
        return await silent_payments(
            self._engine, list(self.providers), list(self._runtime.campaigns), now, AT_ONCE
        )

    async def _follow(self, payment: Silent, provider: FollowsPayments) -> int:
        now = self._runtime.clock.now_ms()
        pid = payment.payment_id
        live = self._runtime.live_for_payment(pid)
        if live is None:
            return 0
        state = await provider.payment_state(pid)
        if state.paid:
            answer = await live.orders.settle_payment(
                now,
                pid,
                state.amount_fen,
                "succeeded",
                balance_due_ms(live.campaign),
                payment.provider,
            )
            if answer.code == "amount_mismatch":  # for ops: never settled for another sum
                log.error("payment %s: %s says %d fen paid", pid, provider.name, state.amount_fen)
                self._pause(pid, now)
                return 0
            log.info(
                "payment %s: %s says paid without a notice: %s", pid, provider.name, answer.code
            )
            self._asked.pop(pid, None)
            return 1
        moved_on = payment.order_status != status_before(payment.stage)  # type: ignore[arg-type]
        if state.closed or moved_on:
            await provider.close_payment(pid)  # the buyer can no longer pay it
            await live.orders.settle_payment(
                now,
                pid,
                payment.amount_fen,
                "failed",
                balance_due_ms(live.campaign),
                payment.provider,
            )
            self._asked.pop(pid, None)
            return 1
        self._pause(pid, now)
        return 0

    def _pause(self, pid: str, now: int) -> None:
        asked = self._asked.get(pid) or _Asked(0, now)
        asked.times += 1
        asked.next_ms = now + min(FIRST_PAUSE_MS << min(asked.times - 1, 10), LONGEST_PAUSE_MS)
        self._asked[pid] = asked
