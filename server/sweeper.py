"""Deadlines on the campaign clock: each due entry of a campaign's deadlines set is fired
through the Lua script for it, which re-checks the order's state and removes the entry,
so firing twice (two workers, a crash and a restart) changes nothing the second time."""

from __future__ import annotations

import logging

from server.domain.lifecycle import AWAITING_BALANCE, AWAITING_PAYMENT, PAID
from server.ops.audit import Actor, Audit
from server.ops.broadcast import OFFER_DEADLINE, open_offer
from server.runtime import LiveCampaign, Runtime
from server.store.stock import EndTerms

log = logging.getLogger("liveroom.sweeper")

_GROUP_MEMBER_STATUSES = ",".join((AWAITING_PAYMENT, PAID, "allocated"))


SCHEDULE = Actor("schedule", "admin")  # what ops set to happen at a time


class Sweeper:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._audit = Audit(runtime.redis, runtime.settings.key_prefix)

    async def sweep(self) -> int:
        """Fire every deadline that has come; returns how many fired."""
        fired = 0
        await self._runtime.return_due_pools()
        for live in list(self._runtime.campaigns.values()):
            if live.stock.k > 1 and (finished := await live.stock.finish_loans()):
                log.warning(
                    "%s: finished %d loans between stock buckets", live.campaign.id, finished
                )
            await self._open_offer_on_time(live)
            while due := await live.orders.due(self._runtime.clock.now_ms()):
                for member in due:
                    await self._fire(live, member)
                fired += len(due)
        return fired

    async def _open_offer_on_time(self, live: LiveCampaign) -> None:
        """The depositor offer, where the campaign opens it by itself, at its time."""
        offer = live.campaign.depositor_group
        if offer is None or not live.campaign.notifications.open_depositor_offer:
            return
        if self._runtime.clock.now() < offer.opens_at or await live.orders.depositor_offer_open():
            return
        opened = await open_offer(live, self._runtime.clock.now_ms())
        if opened["result"] == "opened":
            await self._audit.record(
                SCHEDULE, "desk.presale_to_group", live.campaign.id, None, opened
            )

    async def _fire(self, live: LiveCampaign, member: str) -> None:
        now = self._runtime.clock.now_ms()
        kind, _, ident = member.partition(":")
        if kind == "pay":
            terms = EndTerms(allowed=AWAITING_PAYMENT, deadline=member)
            await live.stock.end_order(now, ident, "expired", terms)
        elif kind == "balance":  # the deposit is forfeited, not refunded
            terms = EndTerms(allowed=AWAITING_BALANCE, deadline=member)
            await live.stock.end_order(now, ident, "forfeited", terms)
        elif kind == "group":
            group = live.campaign.group_rules
            tiers = ",".join(f"{t.min_members}:{t.price_fen}" for t in group.tiers)
            fill = group.auto_complete_max_missing if group.auto_complete else 0
            answer = await live.orders.close_group(
                now, ident, group.tiers[0].min_members, fill, tiers
            )
            log.info("%s: group %s %s", live.campaign.id, ident, answer.code)
        elif kind == "groupprice":
            await live.orders.adjust_group_price(now, ident, member)
        elif kind == "grouprelease":
            terms = EndTerms(allowed=_GROUP_MEMBER_STATUSES, refund=True, deadline=member)
            await live.stock.end_order(now, ident, "group_failed", terms)
        elif kind == "aftersale":
            await live.orders.fulfil(now, ident, "completed", "delivered", deadline=member)
        elif member == OFFER_DEADLINE:  # the presale -> group move ops scheduled
            await live.orders.drop_deadline(member)
            opened = await open_offer(live, now)
            await self._audit.record(
                SCHEDULE, "desk.presale_to_group", live.campaign.id, None, opened
            )
        else:
            log.error("%s: unknown deadline %r dropped", live.campaign.id, member)
            await live.orders.drop_deadline(member)
