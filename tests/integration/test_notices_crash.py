"""A worker killed with SIGKILL in the middle of sending the depositor offer's notices, then
started again: every depositor's notice reaches the inbox once and the channel under one
id each, none missed; only what was in flight at the kill is sent again, under the same id
(the receiver keeps it once)."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

import orjson
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.ledger.schema import notices
from server.notify.notifier import SENDING_AT_ONCE
from server.payments.signature import verify
from tests.campaigns import campaign_text
from tests.conftest import NOTIFY_SECRET
from tests.integration.conftest import Serve
from tests.integration.test_ledger_crash import worker_process
from tests.server_harness import LiveServer, eventually, receiving

DEPOSITORS = 120
ANSWERED_BEFORE_THE_HOLD = 40


class Receiver:
    """The channel's far end: records each request as it arrives (as a real gateway would),
    answers the first ones, then holds every later request unanswered until released."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.held = 0
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        verify(NOTIFY_SECRET, request.headers["X-Signature"], body)
        notice = orjson.loads(body)
        assert request.headers["Idempotency-Key"] == notice["id"]
        self.received[notice["id"]] += 1
        if sum(self.received.values()) > ANSWERED_BEFORE_THE_HOLD and not self.release.is_set():
            self.held += 1
            await self.release.wait()
        return web.json_response({"ok": True})


async def deposit(s: LiveServer, user: str) -> None:
    h = await s.login(user)
    order = await s.order(h, mode="presale", qty=1)
    await s.pay(h, order["order_id"])


async def outbox_states(engine: AsyncEngine) -> Counter[str]:
    async with engine.connect() as conn:
        return Counter((await conn.execute(select(notices.c.state))).scalars())


async def test_a_worker_killed_mid_send_misses_no_notice_and_repeats_none(
    serve: Serve,
    redis_url: str,
    key_prefix: str,
    tmp_path: Path,
    ledger_url: str,
    ledger_engine: AsyncEngine,
) -> None:
    receiver = Receiver()
    text = campaign_text(1000, 0, 0)
    async with serve(text, database_url=ledger_url) as s, receiving(receiver.handle) as url:
        users = [f"dep{i}" for i in range(DEPOSITORS)]
        for start in range(0, DEPOSITORS, 20):
            await asyncio.gather(*(deposit(s, u) for u in users[start : start + 20]))
        env = {"LIVEROOM_NOTIFY_URL": url, "LIVEROOM_NOTIFY_SECRET": NOTIFY_SECRET}
        with worker_process(redis_url, ledger_url, key_prefix, tmp_path, env) as worker:
            await s.set_clock("2026-09-06T00:00:01+08:00")  # the offer opens by itself
            await eventually(lambda: asyncio.sleep(0.02, receiver.held), lambda n: n > 0, 30)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        states = await outbox_states(ledger_engine)
        assert states["pending"] > 0, "the kill should land while notices remain"
        receiver.release.set()  # what the dead worker sent is answered, to nobody

        with worker_process(redis_url, ledger_url, key_prefix, tmp_path, env):
            await eventually(
                lambda: outbox_states(ledger_engine),
                lambda found: found == Counter({"sent": DEPOSITORS}),
                30,
            )
        assert set(receiver.received) == {f"mid-autumn:offer:{u}" for u in users}
        # Sent again: only what was in flight at the kill (sent, its answer not yet recorded;
        # each of the SENDING_AT_ONCE slots holds one), under the same id for the receiver.
        repeated = {key: n for key, n in receiver.received.items() if n > 1}
        assert len(repeated) <= SENDING_AT_ONCE and all(n == 2 for n in repeated.values())
        for user in users[:: DEPOSITORS // 10]:
            h = await s.login(user)
            inbox = (await s.client.get("/api/v1/me/notifications", headers=h)).json()
            assert [n["kind"] for n in inbox["notifications"]] == ["depositor_offer"]


async def test_two_workers_send_each_notice_once(
    serve: Serve,
    redis_url: str,
    key_prefix: str,
    tmp_path: Path,
    ledger_url: str,
    ledger_engine: AsyncEngine,
) -> None:
    receiver = Receiver()
    receiver.release.set()  # answers everything at once
    async with serve(campaign_text(1000, 0, 0), database_url=ledger_url) as s:
        users = [f"dep{i}" for i in range(DEPOSITORS)]
        for start in range(0, DEPOSITORS, 20):
            await asyncio.gather(*(deposit(s, u) for u in users[start : start + 20]))
        async with receiving(receiver.handle) as url:
            env = {"LIVEROOM_NOTIFY_URL": url, "LIVEROOM_NOTIFY_SECRET": NOTIFY_SECRET}
            one = {**env, "LIVEROOM_WORKER_NAME": "one"}
            two = {**env, "LIVEROOM_WORKER_NAME": "two"}
            with (
                worker_process(redis_url, ledger_url, key_prefix, tmp_path, one),
                worker_process(redis_url, ledger_url, key_prefix, tmp_path, two),
            ):
                await s.set_clock("2026-09-06T00:00:01+08:00")
                await eventually(
                    lambda: outbox_states(ledger_engine),
                    lambda found: found == Counter({"sent": DEPOSITORS}),
                    30,
                )
        assert receiver.received == Counter({f"mid-autumn:offer:{u}": 1 for u in users})
