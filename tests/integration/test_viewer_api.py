"""What the viewer pages stand on, through the API: volume tiers on paid units per campaign,
share links for the campaign that recruited, withdrawals into ops' queue, open groups
closest to their next tier first, the inbox's unread count, the host's notices, share
images, and viewers vouched for by the host platform's JWT."""

from __future__ import annotations

import time
from typing import Any

import jwt
import orjson
import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from server.settings import HostLogin
from tests.campaigns import campaign_text
from tests.integration.conftest import GROUP_OPEN, Serve
from tests.server_harness import LiveServer, eventually

pytestmark = pytest.mark.usefixtures("ledger_url")


async def _rate_of_next_order(s: LiveServer, code: str) -> int:
    """The level-1 rate an order through `code` is attributed at now."""
    buyer = await s.login(f"probe-{time.monotonic_ns()}")
    order = await s.order(buyer, mode="direct", qty=1, ref=code)
    raw = await s.app.state.gateway.runtime.live("mid-autumn").stock.order(order["order_id"])
    return int(raw["attribution"]["level1_bp"])


async def test_volume_tiers_count_paid_units_net_of_refunds(serve_with_ledger: Serve) -> None:
    """A 3-unit tier: three units ordered and cancelled move nothing; three paid move the
    distributor up; refunded, they move them back."""
    text = campaign_text(100, 0, 0).replace("min_units = 200", "min_units = 3")
    async with serve_with_ledger(text) as s:
        code = await s.become_distributor(await s.login("dist"))
        buyer = await s.login("buyer")
        unpaid = await s.order(buyer, mode="direct", qty=3, ref=code)
        r = await s.client.post(
            f"/api/v1/ops/orders/{unpaid['order_id']}/refund", json={}, headers=s.ops
        )
        assert r.status_code == 200
        assert await _rate_of_next_order(s, code) == 1500  # ordered, never paid: no volume
        paid = await s.order(buyer, mode="direct", qty=3, ref=code)
        await s.pay(buyer, paid["order_id"])
        assert await _rate_of_next_order(s, code) == 1800  # three paid: the higher tier
        r = await s.client.post(
            f"/api/v1/ops/orders/{paid['order_id']}/refund", json={}, headers=s.ops
        )
        assert r.status_code == 200
        assert await _rate_of_next_order(s, code) == 1500  # refunded: back down
        assert not (await s.reconcile()).problems


async def test_share_links_point_at_the_campaign_that_recruited(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger() as s:
        other = campaign_text(100, 0, 0, campaign_id="harvest")
        r = await s.client.put(
            "/api/v1/ops/campaigns/harvest", content=other.encode(), headers=s.ops
        )
        assert r.status_code == 200
        me = await s.login("dist")
        r = await s.client.post("/api/v1/distributors", json={"campaign_id": "harvest"}, headers=me)
        assert r.status_code == 201 and r.json()["share_link"].startswith("/live/harvest?ref=")
        mine = (await s.client.get("/api/v1/distributors/me", headers=me)).json()
        assert mine["share_link"].startswith("/live/harvest?ref=")
        here = await s.client.get("/api/v1/distributors/me?campaign_id=mid-autumn", headers=me)
        assert here.json()["share_link"].startswith("/live/mid-autumn?ref=")
        community = await s.client.post(
            "/api/v1/ops/communities",
            json={"name": "楼下", "campaign_id": "harvest"},
            headers=s.ops,
        )
        assert community.json()["share_link"].startswith("/live/harvest?ref=C")


async def test_a_withdrawal_lands_in_ops_queue_and_is_paid_or_rejected(
    serve_with_ledger: Serve,
) -> None:
    async with serve_with_ledger() as s:
        me = await s.login("dist")
        code = await s.become_distributor(me)
        buyer = await s.login("buyer")
        order = await s.order(buyer, mode="direct", qty=1, ref=code)
        await s.pay(buyer, order["order_id"])
        await s.deliver(buyer, order["order_id"])
        await s.advance(8 * 86_400)
        summary = await _settled(s, me, 5_520)
        assert summary["withdrawable_fen"] == 5_520
        too_much = await s.client.post(
            "/api/v1/distributors/me/withdrawals", json={"amount_fen": 5_521}, headers=me
        )
        assert too_much.status_code == 409 and too_much.json()["error"] == "withdrawal_too_large"
        first = await s.client.post(
            "/api/v1/distributors/me/withdrawals", json={"amount_fen": 2_000}, headers=me
        )
        second = await s.client.post(
            "/api/v1/distributors/me/withdrawals", json={"amount_fen": 3_000}, headers=me
        )
        assert first.status_code == second.status_code == 201
        assert (await _mine(s, me))["withdrawable_fen"] == 520  # asked for, not decided yet
        paid = await s.client.post(
            f"/api/v1/ops/withdrawals/{first.json()['id']}/pay", json={}, headers=s.ops
        )
        assert paid.status_code == 200 and paid.json()["status"] == "paid"
        again = await s.client.post(
            f"/api/v1/ops/withdrawals/{first.json()['id']}/pay", json={}, headers=s.ops
        )
        assert again.status_code == 409
        rejected = await s.client.post(
            f"/api/v1/ops/withdrawals/{second.json()['id']}/reject",
            json={"reason": "账户信息不全"},
            headers=s.ops,
        )
        assert rejected.json()["status"] == "rejected"
        mine = await _mine(s, me)
        assert (mine["paid_out_fen"], mine["balance_fen"], mine["withdrawable_fen"]) == (
            2_000,
            3_520,
            3_520,
        )
        assert {w["status"] for w in mine["withdrawals"]} == {"paid", "rejected"}


async def _mine(s: LiveServer, headers: dict[str, str]) -> dict[str, Any]:
    await s.ledger_caught_up()
    r = await s.client.get("/api/v1/distributors/me", headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _settled(s: LiveServer, headers: dict[str, str], amount: int) -> dict[str, Any]:
    for _ in range(100):
        mine = await _mine(s, headers)
        if mine["commissions"]["settled"]["amount_fen"] == amount:
            return mine
        await s.advance(60)
    raise AssertionError(f"never settled: {mine}")


async def test_open_groups_closest_to_their_next_tier_first(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger(campaign_text(100, 0, 0), clock_start=GROUP_OPEN) as s:
        codes = []
        for name, joiners in (("a", 0), ("b", 1), ("c", 8)):
            leader = await s.login(f"lead-{name}")
            opened = await s.order(leader, mode="group", qty=1, open_group=True)
            await s.pay(leader, opened["order_id"])
            for j in range(joiners):
                friend = await s.login(f"friend-{name}-{j}")
                joined = await s.order(friend, mode="group", qty=1, group_code=opened["group_code"])
                await s.pay(friend, joined["order_id"])
            codes.append(opened["group_code"])
        listed = (await s.client.get("/api/v1/campaigns/mid-autumn/groups")).json()["groups"]
        # b: 2 paid, 1 short of 3; c: 9 paid, 1 short of 10 (and opened later, so it runs
        # out later); a: 1 paid, 2 short of 3
        assert [g["code"] for g in listed] == [codes[1], codes[2], codes[0]]
        assert not any("lead-" in g["leader"] for g in listed)
        assert listed[2]["invite_link"] == f"/live/mid-autumn?group={codes[0]}"


async def test_the_inbox_counts_unread_and_the_banner_is_kept(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger() as s:
        depositor = await s.login("depositor")
        order = await s.order(depositor, mode="presale", qty=1)
        await s.pay(depositor, order["order_id"])
        await s.set_clock(GROUP_OPEN)
        await s.client.post("/api/v1/ops/campaigns/mid-autumn/presale-to-group", headers=s.ops)

        async def read_inbox() -> dict[str, Any]:
            found: dict[str, Any] = (
                await s.client.get("/api/v1/me/notifications", headers=depositor)
            ).json()
            return found

        inbox = await eventually(read_inbox, lambda found: found["unread"] == 1)
        assert "¥238" in inbox["notifications"][0]["text"]
        assert not any(ch.isascii() and ch.isalpha() for ch in inbox["notifications"][0]["text"])
        await s.client.post("/api/v1/me/notifications/read", json={}, headers=depositor)
        assert (await s.client.get("/api/v1/me/notifications", headers=depositor)).json()[
            "unread"
        ] == 0
        pushed = await s.client.post(
            "/api/v1/ops/campaigns/mid-autumn/notices",
            json={"text": "还剩 100 盒！"},
            headers=s.ops,
        )
        assert pushed.status_code == 201
        # a viewer who opens the live room now still sees the banner, in its first snapshot
        url = s.base_url.replace("http://", "ws://") + "/ws/live/mid-autumn"
        async with websockets.connect(url) as feed:
            first = orjson.loads(await feed.recv())
        assert first["notice"]["text"] == "还剩 100 盒！" and first["notice"]["kind"] == "host"


async def test_share_images(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger() as s:
        code = await s.become_distributor(await s.login("dist"))
        qr = await s.client.get(f"/api/v1/campaigns/mid-autumn/qr.svg?ref={code}")
        assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
        group_qr = await s.client.get("/api/v1/campaigns/mid-autumn/qr.svg?group=ABCDEFGH")
        assert group_qr.status_code == 200
        poster = await s.client.get(f"/api/v1/campaigns/mid-autumn/poster.png?ref={code}")
        assert poster.status_code == 200 and poster.content[:4] == b"\x89PNG"
        assert (
            await s.client.get("/api/v1/campaigns/mid-autumn/poster.png?ref=DNOSUCH2")
        ).status_code == 404
        assert (
            await s.client.get("/api/v1/campaigns/mid-autumn/qr.svg?ref=<script>")
        ).status_code == 422


def _rsa_pair() -> tuple[Any, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, public.decode()


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": "wx-user-42",
        "iss": "host-app",
        "aud": "liveroom",
        "iat": now,
        "exp": now + 600,
    } | overrides


@pytest.mark.parametrize("algorithm", ["HS256", "RS256"])
async def test_a_viewer_vouched_for_by_the_host_platform(
    serve_with_ledger: Serve, algorithm: str
) -> None:
    secret = "host-shared-secret-0123456789abcdefghij"
    private, public = _rsa_pair()
    login = (
        HostLogin(secret=secret, issuer="host-app")
        if algorithm == "HS256"
        else HostLogin(public_key=public, issuer="host-app")
    )
    signing_key: Any = secret if algorithm == "HS256" else private
    async with serve_with_ledger(host_login=login) as s:

        def assertion(**claims: Any) -> str:
            return jwt.encode(_claims(**claims), signing_key, algorithm=algorithm)

        r = await s.client.post("/api/v1/sessions/host", json={"assertion": assertion()})
        assert r.status_code == 201 and r.json()["user_id"] == "wx-user-42", r.text
        viewer = {"Authorization": f"Bearer {r.json()['token']}"}
        assert (await s.client.get("/api/v1/me/orders", headers=viewer)).json()[
            "user_id"
        ] == "wx-user-42"
        now = int(time.time())
        refused = {
            "expired": assertion(iat=now - 1000, exp=now - 100),
            "issuer": assertion(iss="someone-else"),
            "audience": assertion(aud="another-app"),
            "sub": assertion(sub="not a user id!"),
            "lifetime": assertion(exp=now + 3 * 86_400),
            "forged": jwt.encode(_claims(), "x" * 40, algorithm="HS256"),
            "unsigned": jwt.encode(_claims(), "", algorithm="none"),
        }
        for why, token in refused.items():
            r = await s.client.post("/api/v1/sessions/host", json={"assertion": token})
            assert r.status_code == 401 and r.json()["field"] == "assertion", (why, r.text)


async def test_host_login_is_off_unless_configured(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger() as s:
        r = await s.client.post("/api/v1/sessions/host", json={"assertion": "x.y.z"})
        assert r.status_code == 403 and r.json()["error"] == "host_login_disabled"


async def test_the_first_paint_needs_one_request(serve_with_ledger: Serve) -> None:
    """The live room's HTML alone shows the product, the phase, the price a new viewer pays
    and the stock left (the script then personalises it); an unknown campaign is a 404
    page in Chinese, never the mooncake page."""
    async with serve_with_ledger() as s:
        page = await s.client.get("/live/mid-autumn")
        assert page.status_code == 200
        for shown in ("流心奶黄月礼盒", "预售中", "¥298", "剩余 100 盒", "日常价 ¥368"):
            assert shown in page.text, shown
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        missing = await s.client.get("/live/nope")
        assert missing.status_code == 404 and "没有这场直播" in missing.text
        assert "流心奶黄月礼盒" not in missing.text
