from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto import events as wsevents

from server.domain.campaign import parse_campaign
from server.feeds.hub import snapshot_due
from server.feeds.metrics import Raw, dashboard, live
from server.feeds.screen_facts import low_pools, next_moments, recent_order, tier_progress
from server.feeds.wire import (
    DROP_AFTER_MISSED,
    TRY_AGAIN_LATER,
    WRITE_BUFFER_LIMIT,
    Connection,
    close_frame,
    data_frame,
    forget_handshake,
)
from tests.campaigns import CANONICAL

Pair = tuple[Connection, socket.socket]


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    """A real transport (the server side) and the client's socket, with small kernel buffers
    so that a client that stops reading is behind after a few frames."""
    server_sock, client = socket.socketpair()
    for sock in (server_sock, client):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.setblocking(False)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=server_sock)
    yield Connection(transport), client
    transport.abort()
    client.close()


async def received(client: socket.socket, size: int) -> bytes:
    """Read `size` bytes, or up to the end of the stream (bounded in time)."""
    data = b""
    async with asyncio.timeout(5):
        while len(data) < size:
            try:
                chunk = client.recv(1 << 20)
            except BlockingIOError:
                await asyncio.sleep(0.001)  # the event loop flushes what it buffered
                continue
            if not chunk:
                break
            data += chunk
    return data


def test_frames_are_unmasked_rfc6455_frames() -> None:
    assert data_frame(b"hi", binary=False) == b"\x81\x02hi"
    assert data_frame(b"\x00" * 200, binary=True)[:4] == b"\x82\x7e\x00\xc8"  # 16-bit length
    assert close_frame(TRY_AGAIN_LATER, "x") == b"\x88\x03\x03\xf5x"


async def test_a_reading_client_gets_every_frame_in_order(pair: Pair) -> None:
    connection, client = pair
    frames = [data_frame(str(n).encode(), binary=False) for n in range(50)]
    for frame in frames:
        assert connection.deliver(frame)
    expected = b"".join(frames)
    assert await received(client, len(expected)) == expected
    assert connection.missed == 0


async def test_a_client_that_stops_reading_is_skipped_then_dropped(pair: Pair) -> None:
    connection, client = pair
    big = data_frame(b"x" * 16_384, binary=False)
    while connection.transport.get_write_buffer_size() <= WRITE_BUFFER_LIMIT:
        assert connection.deliver(big) and connection.missed == 0
    buffered = connection.transport.get_write_buffer_size()
    results = [connection.deliver(big) for _ in range(DROP_AFTER_MISSED)]
    assert all(results[:-1]) and results[-1] is False  # skipped 99 times, then hopeless
    assert connection.transport.get_write_buffer_size() == buffered  # nothing more queued
    connection.drop("too far behind; reconnect")
    assert connection.transport.is_closing()


async def test_a_slow_client_that_catches_up_is_not_counted_behind(pair: Pair) -> None:
    connection, client = pair
    big = data_frame(b"x" * 16_384, binary=False)
    sent = 0
    while connection.transport.get_write_buffer_size() <= WRITE_BUFFER_LIMIT:
        connection.deliver(big)
        sent += len(big)
    assert connection.deliver(big) and connection.missed == 1  # skipped: still behind
    assert len(await received(client, sent)) == sent
    assert connection.deliver(big) and connection.missed == 0


async def test_a_dropped_client_is_told_why_then_disconnected(pair: Pair) -> None:
    connection, client = pair
    connection.drop("too far behind; reconnect")
    told = close_frame(TRY_AGAIN_LATER, "too far behind; reconnect")
    assert await received(client, 1 << 30) == told  # and then the end of the stream


RAW = Raw(
    version=7,
    counters={
        "orders.accepted": 20,
        "orders.presale": 10,
        "payments.deposit": 9,
        "orders.via_distributor": 11,
        "groups.opened": 3,
        "groups.formed": 1,
        "groups.failed": 1,
        "groups.formed_members": 25,
        "gmv.paid_fen": 45000,
    },
    pools={"presale": {"quota": 20, "remaining": 10, "reserved": 1, "sold": 9, "moved_in": 0}},
    leading_groups=[("ABCD2345", 12)],
    top_distributors=[("DAAAAAAA", 5)],
    recruited=40,
    recruited_last_10_min=3,
    paused=["group"],
)


def test_dashboard_snapshot_from_raw_counters() -> None:
    snap = dashboard(RAW, orders_per_s=12.34)
    assert snap["deposits"] == {"placed": 10, "paid": 9, "payment_rate": 0.9}
    assert snap["groups"]["open"] == 1 and snap["groups"]["average_size"] == 25
    assert snap["orders"]["via_distributor_share"] == 0.55
    assert snap["orders"]["per_second"] == 12.3
    assert snap["stock"] == {
        "total": 20,
        "remaining": 10,
        "pools": {
            "presale": {"quota": 20, "remaining": 10, "reserved": 1, "sold": 9, "borrowed": 0}
        },
        "low": [],
    }
    assert snap["funnel"] == [
        {"stage": "viewers", "n": 0},
        {"stage": "orders", "n": 20},
        {"stage": "paid", "n": 9},
        {"stage": "balance", "n": 0},
    ]
    assert snap["aov_fen"] == 5000  # 45000 fen over 9 paid orders
    assert snap["distributors"] == {
        "recruited": 40,
        "last_10_min": 3,
        "top": [{"code": "DAAAAAAA", "name": None, "units": 5}],
    }


def test_live_snapshot_shows_only_public_numbers() -> None:
    snap = live(RAW)
    assert set(snap) == {"stock", "groups", "notice", "paused"}
    assert snap["paused"] == ["group"]  # the room greys out what ops paused


def test_the_screens_facts_from_the_campaigns_rules() -> None:
    campaign = parse_campaign(CANONICAL)
    order = {"user": "viewer-3f9a", "mode": "group", "qty": 1, "amount_due_fen": 32_800}
    assert recent_order(order)["buyer"] == "vi***9a"
    assert recent_order(order, "440305")["place"] == "深圳市"
    assert recent_order(order, "310104")["place"] == "上海市"  # a municipality: no city level
    assert recent_order(order, "441900")["place"] == "东莞市"
    assert recent_order(order)["place"] == recent_order(order, "999999")["place"] == ""
    assert tier_progress(campaign, 2) == {
        "members": 2,
        "price_fen": None,
        "next_min": 3,
        "next_price_fen": 32_800,
    }
    assert tier_progress(campaign, 5)["next_min"] == 10
    assert tier_progress(campaign, 12) == {
        "members": 12,
        "price_fen": 30_800,
        "next_min": None,
        "next_price_fen": None,
    }
    now = datetime.fromisoformat("2026-09-05T12:00:00+08:00")
    moments = next_moments(campaign, now)
    sixth = int(datetime.fromisoformat("2026-09-06T00:00:00+08:00").timestamp() * 1000)
    assert len(moments) == 2 and {m["at_ms"] for m in moments} == {sixth}  # the next edge
    assert low_pools(
        {
            "a": {"quota": 100, "remaining": 9},
            "b": {"quota": 100, "remaining": 10},
            "c": {"quota": 0, "remaining": 0},
        },
        set(),
    ) == ["a"]
    assert low_pools({"presale": {"quota": 2000, "remaining": 0}}, {"presale"}) == []


def test_each_kind_of_feed_keeps_its_pace() -> None:
    """Big screens get a changed snapshot after 0.1 s, live rooms after 0.5 s; either gets
    one every second even when nothing changed, and a newcomer kind at once."""
    assert snapshot_due("live", None, 7, 0.0)
    assert not snapshot_due("dashboard", (7, 10.0), 8, 10.05)
    assert snapshot_due("dashboard", (7, 10.0), 8, 10.1)
    assert snapshot_due("dashboard", (7, 10.0), 8, 10.095)  # a tick that woke a hair early
    assert not snapshot_due("live", (7, 10.0), 8, 10.3)
    assert snapshot_due("live", (7, 10.0), 8, 10.5)
    assert not snapshot_due("live", (8, 10.0), 8, 10.9)  # nothing changed
    assert snapshot_due("live", (8, 10.0), 8, 11.0)  # the once-a-second refresh


class _Protocol:
    """Stands where uvicorn's wsproto protocol stands: `send` is its method, `conn` its
    wsproto connection (a real one here, talking to a real wsproto client)."""

    def __init__(self) -> None:
        self.conn = WSConnection(ConnectionType.SERVER)

    async def send(self, message: object) -> None:
        raise AssertionError("not called")


def test_a_feed_forgets_its_handshake_and_still_speaks_websocket() -> None:
    server, client = _Protocol(), WSConnection(ConnectionType.CLIENT)
    server.conn.receive_data(client.send(wsevents.Request(host="gw", target="/ws/live/c")))
    assert [type(e) for e in server.conn.events()] == [wsevents.Request]
    assert not forget_handshake(server.send)  # not open yet: it keeps what it needs
    client.receive_data(server.conn.send(wsevents.AcceptConnection()))
    assert [type(e) for e in client.events()] == [wsevents.AcceptConnection]

    assert forget_handshake(server.send)
    assert server.conn.handshake._h11_connection is None  # the upgrade request's parser
    client.receive_data(server.conn.send(wsevents.TextMessage("snapshot")))
    assert [e.data for e in client.events()] == ["snapshot"]
    server.conn.receive_data(client.send(wsevents.Ping(b"p")))
    server.conn.receive_data(client.send(wsevents.CloseConnection(1000)))
    assert [type(e) for e in server.conn.events()] == [wsevents.Ping, wsevents.CloseConnection]
    assert not forget_handshake(object().__init__)  # not uvicorn's wsproto protocol
