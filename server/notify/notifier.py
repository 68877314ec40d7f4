"""The worker's notifier: plans the notices the campaign's facts call for (domain/notices.py)
into the outbox, then delivers each pending one: the viewer's kept inbox and the open live
room (deliver_notices.lua, once per key), and the channel when it may be pushed.

Across a crash: planning again finds the same keys; a notice delivered to the inbox but not
yet recorded goes in again as nothing; the channel gets it again under the same
idempotency key (channels.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from server.clock import to_ms
from server.domain import notices as rules
from server.domain.notices import HOUR_MS, Decision, Notice
from server.ledger import notice_outbox as outbox
from server.ledger import notice_queries as facts
from server.ledger.notice_outbox import Finished
from server.notify.channels import Channel, ChannelRefused, ChannelRetry, Outbound
from server.notify.tags import inbox_tag
from server.notify.texts import render
from server.runtime import LiveCampaign, Runtime

log = logging.getLogger("liveroom.notify")

MAX_ATTEMPTS = 8
SENDING_AT_ONCE = 16
REREAD_S = 30.0  # the ledger's facts read again at least this often (another worker's entries)


class Notifier:
    def __init__(
        self,
        runtime: Runtime,
        engine: AsyncEngine,
        channel: Channel,
        worker: str,
        ledger_moves: Callable[[], int] = lambda: -1,
    ) -> None:
        self._runtime = runtime
        self._engine = engine
        self.channel = channel
        self._worker = worker  # stable across restarts: its claims are its own to take back
        self._started = False
        self._offers_planned: set[tuple[str, int]] = set()  # (campaign, when it opened)
        # The ledger's facts are read again only when they may have changed: entries applied
        # (`ledger_moves`, the worker's count), another reminder due, or a while gone by.
        self._ledger_moves = ledger_moves
        self._read_at: tuple[object, ...] | None = None
        self._read_when = 0.0

    async def step(self) -> int:
        """Plan, then deliver what is due; returns how many notices were finished."""
        if not self._started:
            await outbox.release_claims(self._engine, self._worker, self._runtime.clock.now_ms())
            self._started = True
        await self.plan()
        return await self.dispatch()

    # -- planning ------------------------------------------------------------------------

    async def plan(self) -> int:
        planned = 0
        for live in list(self._runtime.campaigns.values()):
            found = await self._offer_notices(live)
            planned += await outbox.add(self._engine, self._rows(live, found))
        now = self._runtime.clock.now_ms()
        due = [self._reminder_due(live, now) for live in self._runtime.campaigns.values()]
        marker = (self._ledger_moves(), *due)
        if marker == self._read_at and time.monotonic() - self._read_when < REREAD_S:
            return planned
        self._read_at, self._read_when = marker, time.monotonic()
        for live in list(self._runtime.campaigns.values()):
            found = await self._due_notices(live)
            planned += await outbox.add(self._engine, self._rows(live, found))
        return planned

    def _reminder_due(self, live: LiveCampaign, now: int) -> int | None:
        """The hours-before-close mark of the balance reminder due now, if one is."""
        presale = live.campaign.presale
        if presale is None:
            return None
        closes = to_ms(presale.balance_closes_at)
        hours = live.campaign.notifications.balance_reminders_h
        return rules.reminder_due(hours, closes, now)

    async def _due_notices(self, live: LiveCampaign) -> list[Notice]:
        campaign, cid = live.campaign, live.campaign.id
        settings = campaign.notifications
        now = self._runtime.clock.now_ms()
        found: list[Notice] = []
        hours = self._reminder_due(live, now)
        if campaign.presale is not None and hours is not None:
            closes = to_ms(campaign.presale.balance_closes_at)
            awaiting = await facts.awaiting_balance(self._engine, cid, hours)
            rate = await _deposit_rate_pct(live)
            found += rules.balance_reminders([hours], closes, now, awaiting, rate)
        if campaign.group is not None:
            needed = campaign.group.tiers[0].min_members
            forming = await facts.forming_groups(self._engine, cid, needed, settings.group_short)
            short = rules.group_short(settings.group_short, forming)
            known = await facts.planned(self._engine, cid, [n.key for n in short])
            found += [n for n in short if n.key not in known]
            found += rules.group_outcomes(await facts.group_outcomes(self._engine, cid))
        found += rules.parcels(await facts.parcels(self._engine, cid))
        return found

    async def _offer_notices(self, live: LiveCampaign) -> list[Notice]:
        """Each depositor's notice once the offer opened (by the desk or on time)."""
        opened = await live.orders.depositor_offer_opened_at()
        if opened is None or (live.campaign.id, opened) in self._offers_planned:
            return []
        self._offers_planned.add((live.campaign.id, opened))
        offer = live.campaign.offer_rules
        balance = offer.price_fen - live.campaign.presale_rules.deposit_fen
        return rules.depositor_offer(await live.orders.depositors(), offer.price_fen, balance)

    def _rows(self, live: LiveCampaign, found: list[Notice]) -> list[dict[str, Any]]:
        now = self._runtime.clock.now_ms()
        return [
            {
                "campaign_id": live.campaign.id,
                "notice_key": notice.key,
                "user_id": notice.user,
                "kind": notice.kind,
                "text": render(notice),
                "planned_at_ms": now,
                "state": "pending",
                "attempts": 0,
                "next_try_ms": now,
            }
            for notice in found
        ]

    # -- delivery ------------------------------------------------------------------------

    async def dispatch(self) -> int:
        now = self._runtime.clock.now_ms()
        campaigns = self._runtime.campaigns
        rows = await outbox.claim(self._engine, self._worker, list(campaigns), now)
        if not rows:
            return 0
        users = {row["user_id"] for row in rows}
        opted_out = await outbox.opted_out(self._engine, users)
        pushed = await outbox.promotions_pushed_since(self._engine, users, now - HOUR_MS)
        by_notice = {(row["campaign_id"], row["notice_key"]): row for row in rows}
        finished: list[Finished] = []
        for cid in {row["campaign_id"] for row in rows}:
            live = campaigns[cid]
            mine = [row for row in rows if row["campaign_id"] == cid]
            decisions = rules.decide(
                [_notice(row) for row in mine],
                opted_out,
                pushed,
                live.campaign.notifications.promotions_per_hour,
            )
            for decision in decisions:  # the next campaign's decisions count these too
                if decision.delivery == "push" and decision.notice.category == "promotion":
                    pushed[decision.notice.user] = pushed.get(decision.notice.user, 0) + 1
            finished += await self._deliver(live, decisions, by_notice, now)
        return sum(f.state != "pending" for f in finished)

    async def _deliver(
        self,
        live: LiveCampaign,
        decisions: list[Decision],
        rows: dict[tuple[str, str], dict[str, Any]],
        now: int,
    ) -> list[Finished]:
        cid = live.campaign.id
        kept = [d for d in decisions if d.delivery != "skip"]
        secret = self._runtime.settings.secret
        await live.orders.deliver_notices(
            [
                (
                    d.notice.key,
                    d.notice.user,
                    _inbox_entry(rows[(cid, d.notice.key)]),
                    inbox_tag(secret, d.notice.user),
                )
                for d in kept
            ]
        )
        held = [
            Finished(
                cid,
                d.notice.key,
                "skipped" if d.delivery == "skip" else "inbox_only",
                d.reason,
                now,
            )
            for d in decisions
            if d.delivery != "push"
        ]
        await outbox.finish(self._engine, held)
        pushes = [rows[(cid, d.notice.key)] for d in decisions if d.delivery == "push"]
        sent: list[Finished] = []
        for start in range(0, len(pushes), SENDING_AT_ONCE):
            # each handful recorded as it is answered: a crash resends only what was in flight
            chunk = pushes[start : start + SENDING_AT_ONCE]
            done = list(await asyncio.gather(*(self._push(row, now) for row in chunk)))
            await outbox.finish(self._engine, done)
            sent += done
        return held + sent

    async def _push(self, row: dict[str, Any], now: int) -> Finished:
        cid, key = row["campaign_id"], row["notice_key"]
        message = Outbound(
            f"{cid}:{key}", cid, row["user_id"], row["kind"], row["text"], row["planned_at_ms"]
        )
        try:
            await self.channel.send(message)
        except ChannelRefused as exc:
            log.warning(
                "a %s notice refused by the %s channel: %s", row["kind"], self.channel.name, exc
            )
            return Finished(cid, key, "failed", f"{self.channel.name}: {exc}", now)
        except ChannelRetry as exc:
            if row["attempts"] + 1 >= MAX_ATTEMPTS:
                return Finished(cid, key, "failed", f"{self.channel.name}: {exc}", now)
            wait = min(1000 * 2 ** row["attempts"], 60_000)
            return Finished(cid, key, "pending", f"{self.channel.name}: {exc}", now, now + wait)
        return Finished(cid, key, "sent", None, now)


def _notice(row: dict[str, Any]) -> Notice:
    return Notice(row["notice_key"], row["user_id"], row["kind"])


def _inbox_entry(row: dict[str, Any]) -> bytes:
    return orjson.dumps({"kind": row["kind"], "text": row["text"], "at_ms": row["planned_at_ms"]})


async def _deposit_rate_pct(live: LiveCampaign) -> int:
    placed = await live.orders.placed_by_mode()
    paid = await live.orders.counter("payments.deposit")
    return round(100 * paid / placed["presale"]) if placed["presale"] else 0
