"""Ops on the distribution network: community links, approvals, payouts and withdrawal
decisions. Money moves one at a time per distributor, on a ledger that has caught up."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from server.errors import Conflict, NotFound, Unavailable
from server.gateway.context import Gateway
from server.ledger.consumer import backlog
from server.ledger.queries import commissions_of, withdrawal
from server.ops.audit import Actor, Audit
from server.runtime import Runtime
from server.settings import Settings
from server.store.identities import IdentityStore


class Books(Protocol):
    """What moving a distributor's money needs: the gateway has it, and so does the worker's
    payout scheduler (WorkerBooks)."""

    runtime: Runtime
    settings: Settings
    identities: IdentityStore
    ledger: AsyncEngine
    audit: Audit


@dataclass
class WorkerBooks:
    runtime: Runtime
    settings: Settings
    identities: IdentityStore
    ledger: AsyncEngine
    audit: Audit


_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud


def new_code(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(7))


async def add_community(gw: Gateway, actor: Actor, campaign_id: str, name: str) -> dict[str, Any]:
    record = await gw.identities.add_community(
        gw.runtime.clock.now_ms(), new_code("C"), name, campaign_id
    )
    await gw.audit.record(actor, "community.add", record["code"], None, record)
    return record


async def approve(gw: Gateway, actor: Actor, code: str) -> dict[str, Any]:
    before = await gw.identities.link(code)
    record = await gw.identities.approve(code)
    if before is None or record is None:
        raise NotFound("no distributor with this code", "code")
    if before["status"] != record["status"]:
        await gw.audit.record(
            actor,
            "distributor.approve",
            code,
            {"status": before["status"]},
            {"status": record["status"]},
        )
    return record


async def balance_of(gw: Books, code: str) -> int:
    return payable_fen(await commissions_of(gw.ledger, code))


def payable_fen(summary: dict[str, Any]) -> int:
    """What a pay-out would pay now: the settled balance less what is asked for."""
    return max(0, int(summary["balance_fen"]) - int(summary["requested_fen"]))


async def pay_out(gw: Books, actor: Actor, code: str) -> int:
    """Pay a distributor their whole positive balance: booked here; sent as a transfer by the
    worker where the distributor gave a payee (payments/payouter.py), else paid outside."""
    record = await gw.identities.link(code)
    if record is None or record.get("kind") != "distributor":
        raise NotFound("no distributor with this code", "code")
    async with one_at_a_time(gw, code):
        summary = await commissions_of(gw.ledger, code)
        amount = payable_fen(summary)
        if amount:
            await gw.identities.record_payout(code, amount)
            await ledger_caught_up(gw)
            await gw.audit.record(
                actor,
                "distributor.payout",
                code,
                {"balance_fen": summary["balance_fen"]},
                {"paid_out_fen": amount},
            )
    return amount


async def decide_withdrawal(
    gw: Books, actor: Actor, withdrawal_id: str, pay: bool, reason: str | None
) -> dict[str, Any]:
    """Pay a withdrawal request (a payout of its amount) or reject it with a reason."""
    asked = await withdrawal(gw.ledger, withdrawal_id)
    if asked is None:
        raise NotFound("no withdrawal with this id", "id")
    code = asked["distributor"]
    async with one_at_a_time(gw, code):
        asked = await withdrawal(gw.ledger, withdrawal_id)
        assert asked is not None
        if asked["status"] != "requested":
            raise Conflict(f"this withdrawal is already {asked['status']}", None, "wrong_status")
        decided = {
            "id": withdrawal_id,
            "distributor": code,
            "amount_fen": asked["amount_fen"],
            "requested_at_ms": asked["requested_at_ms"],
            "status": "paid" if pay else "rejected",
            "decided_at_ms": gw.runtime.clock.now_ms(),
            "decided_by": actor.name,
            "reason": reason,
        }
        if pay:
            summary = await commissions_of(gw.ledger, code)
            if asked["amount_fen"] > summary["balance_fen"]:
                raise Conflict("the balance no longer covers it", None, "withdrawal_too_large")
            await gw.identities.record_payout(code, asked["amount_fen"], settles=decided)
        else:
            await gw.identities.record_withdrawal(decided)
        await ledger_caught_up(gw)
    await gw.audit.record(
        actor, f"withdrawal.{decided['status']}", withdrawal_id, {"status": "requested"}, decided
    )
    return decided


class one_at_a_time:  # noqa: N801 - used as `async with one_at_a_time(...)`
    """One money movement per distributor at a time, on a ledger that has caught up: a
    balance read from the ledger must include every entry before it is spent."""

    def __init__(self, gw: Books, code: str) -> None:
        self._gw, self._code = gw, code

    async def __aenter__(self) -> None:
        if not await self._gw.identities.payout_lock(self._code):
            raise Conflict("a payout for this distributor is in progress", None, "in_progress")
        try:
            await ledger_caught_up(self._gw)
        except BaseException:
            await self._gw.identities.payout_unlock(self._code)
            raise

    async def __aexit__(self, *exc: object) -> None:
        await self._gw.identities.payout_unlock(self._code)


async def ledger_caught_up(gw: Books, seconds: float = 5.0) -> None:
    """Payouts read balances from the ledger: wait (bounded) for the worker to catch up."""
    deadline = asyncio.get_running_loop().time() + seconds
    keyspaces = gw.runtime.keyspaces()
    while asyncio.get_running_loop().time() < deadline:
        if await backlog(gw.runtime.redis, gw.settings.key_prefix, keyspaces) == 0:
            return
        await asyncio.sleep(0.05)
    raise Unavailable("the ledger is behind; retry the payout")
