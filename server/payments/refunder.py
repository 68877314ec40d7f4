"""The worker's refund sender: plans every refund the ledger booked into its payment parts
(the outbox, ledger/refund_outbox.py), sends each part to the provider that took the money,
and follows it until the provider says it is done or refuses it.

Across a crash: planning again finds the same ids; a part sent but not yet recorded is sent
again under the same refund id, and the provider keeps it once (providers.py), so no money
moves twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain import refunds as rules
from server.ledger import refund_outbox as outbox
from server.ledger.refund_outbox import Finished
from server.payments.pacing import Pacer
from server.payments.providers import PaymentProvider, ProviderUnavailable, RefundAnswer, RefundAsk
from server.runtime import Runtime

log = logging.getLogger("liveroom.refunds")

SENDING_AT_ONCE = 8
# Why a send is still waiting, as the finance page names it (the `refund` catalogue)
NOT_CONFIGURED = "provider_not_configured"
UNAVAILABLE = "provider_unavailable: "


class Refunder:
    def __init__(
        self,
        runtime: Runtime,
        engine: AsyncEngine,
        providers: Mapping[str, PaymentProvider],
        worker: str,
        ledger_moves: Callable[[], int] = lambda: -1,
    ) -> None:
        self._runtime = runtime
        self._engine = engine
        self.providers = providers
        self._worker = worker  # stable across restarts: its claims are its own to take back
        self._started = False
        self._pacer = Pacer(ledger_moves)  # refunds are booked by ledger entries

    async def step(self) -> int:
        """Plan what was booked, then send what is due; returns how many sends answered."""
        if self._pacer.quiet():
            return 0
        now = self._runtime.clock.now_ms()
        if not self._started:
            await outbox.release_claims(self._engine, self._worker, now)
            self._started = True
        campaigns = list(self._runtime.campaigns)
        planned = await outbox.plan(
            self._engine, await outbox.unplanned(self._engine, campaigns), now
        )
        due = await outbox.claim(self._engine, self._worker, campaigns, now)
        self._pacer.looked(busy=bool(planned or due))
        if not due:
            return 0
        gate = asyncio.Semaphore(SENDING_AT_ONCE)

        async def one(send: dict[str, Any]) -> Finished:
            async with gate:
                return await self._send(send)

        finished = await asyncio.gather(*(one(send) for send in due))
        await outbox.finish(self._engine, finished)
        return len(finished)

    async def _send(self, send: dict[str, Any]) -> Finished:
        now = self._runtime.clock.now_ms()
        provider = self.providers.get(send["provider"])
        if provider is None:  # configured away since the payment: ops must see it
            return _again(send, now, NOT_CONFIGURED)
        try:
            if send["state"] == rules.PROCESSING:
                answer = await provider.refund_status(_ask(send))
                if answer.state == rules.PENDING:  # the provider never got it: ask again
                    answer = await provider.refund(_ask(send))
            else:
                answer = await provider.refund(_ask(send))
        except ProviderUnavailable as exc:
            log.warning("refund %s: %s unavailable: %s", send["refund_id"], provider.name, exc)
            return _again(send, now, f"{UNAVAILABLE}{exc}"[:200])
        return _answered(send, answer, now)


def _ask(send: dict[str, Any]) -> RefundAsk:
    return RefundAsk(
        refund_id=send["refund_id"],
        payment_id=send["payment_id"],
        amount_fen=send["amount_fen"],
        payment_fen=send["payment_fen"],
        reason=send["reason"],
    )


def _answered(send: dict[str, Any], answer: RefundAnswer, now: int) -> Finished:
    if answer.state == rules.REFUSED:
        log.warning("refund %s refused: %s", send["refund_id"], answer.detail)
    if answer.state not in (rules.PROCESSING, rules.SUCCEEDED, rules.REFUSED):
        return _again(send, now, answer.detail or None)
    wait = rules.next_try_ms(now, send["tries"] + 1) if answer.state == rules.PROCESSING else now
    return Finished(
        send["refund_id"],
        answer.state,
        answer.provider_ref or None,
        answer.detail or None,
        now,
        wait,
    )


def _again(send: dict[str, Any], now: int, detail: str | None) -> Finished:
    """No answer this time: the send stays as it was, asked again after a backoff."""
    return Finished(
        send["refund_id"],
        send["state"],
        send["provider_ref"],
        detail,
        now,
        rules.next_try_ms(now, send["tries"] + 1),
    )
