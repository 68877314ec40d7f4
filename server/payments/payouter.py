"""The worker's payout side: sends each booked payout to a distributor with a payee as a
transfer through the provider (the outbox, ledger/payout_outbox.py) and follows it to the
provider's last word; a refused transfer's payout goes back to the balance once
(return_payout.lua), with the provider's reason kept for ops. And the schedule ops set:
at each slot, one worker pays every distributor with a payee their balance.

Across a crash: a transfer sent but not recorded is sent again under the same bill number,
which the provider keeps once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain import payouts as rules
from server.domain import refunds as backoff
from server.errors import LiveroomError
from server.ledger import payout_outbox as outbox
from server.ledger.payout_outbox import Finished
from server.ledger.schema import payees
from server.ops import distribution
from server.ops.audit import Actor
from server.payments.pacing import Pacer
from server.payments.providers import (
    ProviderUnavailable,
    TransferAnswer,
    TransferAsk,
    TransfersPayouts,
)
from server.runtime import Runtime
from server.store.identities import IdentityStore

log = logging.getLogger("liveroom.payouts")

SCHEDULER = Actor("schedule", "admin")  # who the audit log names for scheduled payouts


class Payouter:
    def __init__(
        self,
        runtime: Runtime,
        engine: AsyncEngine,
        transfers: Mapping[str, TransfersPayouts],
        identities: IdentityStore,
        worker: str,
        ledger_moves: Callable[[], int] = lambda: -1,
    ) -> None:
        self._runtime = runtime
        self._engine = engine
        self.transfers = transfers
        self._identities = identities
        self._worker = worker
        self._started = False
        self._pacer = Pacer(ledger_moves)  # payouts are booked by ledger entries

    async def step(self) -> int:
        if not self.transfers or self._pacer.quiet():
            return 0
        now = self._runtime.clock.now_ms()
        if not self._started:
            await outbox.release_claims(self._engine, self._worker, now)
            self._started = True
        planned = await outbox.plan(self._engine, list(self.transfers), now)
        due = await outbox.claim(self._engine, self._worker, now)
        self._pacer.looked(busy=bool(planned or due))
        finished = [await self._send(send) for send in due]
        await outbox.finish(self._engine, finished)
        return len(finished)

    async def _send(self, send: dict[str, Any]) -> Finished:
        now = self._runtime.clock.now_ms()
        provider = self.transfers.get(send["provider"])
        ask = TransferAsk(
            rules.bill_no(send["payout_id"]),
            send["account"],
            send["name"],
            send["amount_fen"],
            "直播分销佣金",
        )
        try:
            if provider is None:
                raise ProviderUnavailable(f"{send['provider']} is not configured")
            answer = await provider.transfer_status(ask)
            if answer.state == rules.PENDING:  # never reached the provider: send it
                answer = await provider.transfer(ask)
        except ProviderUnavailable as exc:
            log.warning("payout %s: %s", send["payout_id"], exc)
            wait = backoff.next_try_ms(now, send["tries"] + 1)
            detail = f"provider_unavailable: {exc}"[:200]
            state, ref, confirm = send["state"], send["provider_ref"], send["confirm"]
            return Finished(send["payout_id"], state, ref, detail, confirm, now, wait)
        if answer.state == rules.REFUSED:
            # the commission is payable again, once, and ops read why
            await self._identities.return_payout(
                send["payout_id"], send["distributor"], send["amount_fen"]
            )
            log.warning("payout %s refused: %s", send["payout_id"], answer.detail)
        return _answered(send, answer, now)


def _answered(send: dict[str, Any], answer: TransferAnswer, now: int) -> Finished:
    wait = backoff.next_try_ms(now, send["tries"] + 1) if answer.state == rules.PROCESSING else now
    return Finished(
        send["payout_id"],
        answer.state,
        answer.provider_ref or None,
        answer.detail or None,
        answer.confirm or None,
        now,
        wait,
    )


class PayoutScheduler:
    """At each slot of the schedule ops set, pays every distributor with a payee their
    balance (above the minimum), as ops' pay-out button does; one worker runs a slot."""

    def __init__(self, books: distribution.WorkerBooks) -> None:
        self._books = books
        self._pacer = Pacer(lambda: 0)  # the schedule is read again every few seconds

    def _zone(self) -> ZoneInfo:
        """The schedule reads in the first campaign's zone (China's, with none running)."""
        campaigns = list(self._books.runtime.campaigns.values())
        return ZoneInfo(campaigns[0].campaign.timezone if campaigns else "Asia/Shanghai")

    async def step(self) -> int:
        if self._pacer.quiet():
            return 0
        found = await outbox.schedule(self._books.ledger)
        self._pacer.looked(busy=False)
        if found is None:
            return 0
        plan, last = found
        now = datetime.fromtimestamp(self._books.runtime.clock.now_ms() / 1000, self._zone())
        slot = rules.due_slot(plan, now, last)
        if slot is None or not await outbox.take_slot(self._books.ledger, slot, last):
            return 0
        paid = 0
        async with self._books.ledger.connect() as conn:
            codes = list((await conn.execute(select(payees.c.distributor))).scalars())
        for code in codes:
            paid += await self._pay(code, plan.minimum_fen)
            await asyncio.sleep(0)
        log.info("payout slot %s: %d distributors paid", slot, paid)
        return paid

    async def _pay(self, code: str, minimum_fen: int) -> int:
        try:
            summary = await distribution.balance_of(self._books, code)
            if summary < minimum_fen:
                return 0
            return int(await distribution.pay_out(self._books, SCHEDULER, code) > 0)
        except LiveroomError as exc:  # another payout in progress, the ledger behind: next slot
            log.warning("scheduled payout of %s skipped: %s", code, exc.message)
            return 0
