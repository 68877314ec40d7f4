"""晒单 and the material library through the API, with the worker running: a buyer's post is
moderated and becomes material, a distributor shares it, a viewer opens the shared link and
buys, the order names the material as its source, the distributor earns, and the material
counts its share, view, click and order; rejections, take-downs and bad input change nothing."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select, text

from server.ledger.attribution_queries import report
from server.ledger.schema import commissions, materials, orders
from tests.integration.conftest import Serve
from tests.integration.test_after_sale_api import photo_with_gps
from tests.server_harness import LiveServer

pytestmark = pytest.mark.usefixtures("ledger_url")


async def _post(s: LiveServer, buyer: dict[str, str], text: str, images: list[bytes]) -> Any:
    files = [("images", (f"p{i}.jpg", p, "image/jpeg")) for i, p in enumerate(images)]
    return await s.client.post(
        "/api/v1/campaigns/mid-autumn/posts",
        data={"text": text},
        files=files or None,
        headers=buyer,
    )


async def _paid_buyer(s: LiveServer, name: str) -> dict[str, str]:
    buyer = await s.login(name)
    order = await s.order(buyer, mode="direct", qty=1)
    await s.pay(buyer, order["order_id"])  # and post at once: no wait for the ledger
    return buyer


async def _ops_row(s: LiveServer, material_id: str) -> dict[str, Any]:
    r = await s.client.get("/api/v1/ops/materials?campaign_id=mid-autumn", headers=s.ops)
    assert r.status_code == 200, r.text
    [row] = [m for m in r.json()["materials"] if m["material_id"] == material_id]
    return dict(row)


async def _library(s: LiveServer) -> list[str]:
    r = await s.client.get("/api/v1/campaigns/mid-autumn/materials")
    assert r.status_code == 200, r.text
    return [m["material_id"] for m in r.json()["materials"]]


async def test_a_post_becomes_material_a_shared_link_sells_and_the_sharer_earns(
    serve_with_ledger: Serve,
) -> None:
    async with serve_with_ledger() as s:
        buyer = await _paid_buyer(s, "happy-buyer")
        r = await _post(s, buyer, "  送给爸妈，蛋黄很香  ", [photo_with_gps(), photo_with_gps()])
        assert r.status_code == 201, r.text
        post = r.json()
        mid = post["material_id"]
        assert (post["status"], post["text"], post["images"]) == (
            "pending",
            "送给爸妈，蛋黄很香",
            2,
        )

        # Pending: not in the library, its images hidden from everyone but ops.
        assert mid not in await _library(s)
        public = f"/api/v1/campaigns/mid-autumn/materials/{mid}/images/1.jpg"
        assert (await s.client.get(public)).status_code == 404
        kept = await s.client.get(f"/api/v1/ops/materials/{mid}/images/1.jpg", headers=s.ops)
        assert kept.status_code == 200 and kept.headers["content-type"] == "image/jpeg"
        with Image.open(io.BytesIO(kept.content)) as image:
            assert max(image.size) == 1600 and not image.getexif()  # resized, no GPS
        thumb = await s.client.get(f"/api/v1/ops/materials/{mid}/images/2.thumb.jpg", headers=s.ops)
        with Image.open(io.BytesIO(thumb.content)) as image:
            assert max(image.size) == 480

        approved = await s.client.post(
            f"/api/v1/ops/materials/{mid}/approve", json={}, headers=s.ops
        )
        assert approved.status_code == 200 and approved.json()["status"] == "approved"
        again = await s.client.post(f"/api/v1/ops/materials/{mid}/approve", json={}, headers=s.ops)
        assert (again.status_code, again.json()["error"]) == (409, "material_decided")
        assert await _library(s) == [mid]
        assert (await s.client.get(public)).status_code == 200

        seller = await s.login("seller")
        not_yet = await s.client.post(
            f"/api/v1/campaigns/mid-autumn/materials/{mid}/shares", headers=seller
        )
        assert (not_yet.status_code, not_yet.json()["error"]) == (403, "not_a_distributor")
        code = await s.become_distributor(seller)
        shared = await s.client.post(
            f"/api/v1/campaigns/mid-autumn/materials/{mid}/shares", headers=seller
        )
        assert shared.status_code == 201, shared.text
        link = shared.json()
        assert link["url"].endswith(f"/live/mid-autumn?ref={code}&material={mid}")
        qr = await s.client.get(link["qr_url"])
        assert qr.status_code == 200 and qr.headers["content-type"] == "image/svg+xml"
        card = await s.client.get(link["card_url"])
        assert card.status_code == 200 and card.headers["content-type"] == "image/png"
        with Image.open(io.BytesIO(card.content)) as image:
            assert image.size == (750, 562 + 300)  # the 4:3 photo above the QR band
        stranger = await s.client.get(link["card_url"].replace(code, "DZZZZZZZ"))
        assert (stranger.status_code, stranger.json()["error"]) == (404, "unknown_ref")

        # A friend opens the shared link, presses buy and pays.
        friend = await s.login("friend")
        for kind in ("view", "view", "click"):  # the second view the same day: not counted
            r = await s.client.post(
                "/api/v1/campaigns/mid-autumn/visits",
                json={"ref": code, "material": mid, "kind": kind},
                headers=friend,
            )
            assert r.status_code == 200 and r.json()["source"] == f"material:{mid}", r.text
        bought = await s.order(friend, mode="direct", qty=1, ref=code)
        await s.pay(friend, bought["order_id"])
        await s.ledger_caught_up()

        async with s.app.state.gateway.ledger.connect() as conn:
            row = (
                await conn.execute(select(orders).where(orders.c.order_id == bought["order_id"]))
            ).one()
            [line] = (
                await conn.execute(
                    select(commissions).where(commissions.c.order_id == bought["order_id"])
                )
            ).all()
        assert (row.first_touch, row.last_touch, row.ref) == (
            f"material:{mid}",
            f"material:{mid}",
            code,
        )
        assert (line.distributor, line.state, line.amount_fen) == (code, "pending", 5_520)

        figures = (await _ops_row(s, mid))["figures"]
        assert figures == {"shares": 1, "views": 1, "clicks": 1, "orders": 1, "paid": 1}
        found = await report(s.app.state.gateway.ledger, "mid-autumn")
        [channel] = [f for f in found.channels if f.source == "material"]
        assert (channel.views, channel.orders, channel.paid) == (1, 1, 1)

        # Taken down: out of the library; a link shared before still counts for its sharer.
        down = await s.client.post(
            f"/api/v1/ops/materials/{mid}/take-down", json={"reason": "图片不清楚"}, headers=s.ops
        )
        assert down.json()["status"] == "taken_down" and down.json()["reason"] == "图片不清楚"
        assert await _library(s) == []
        late = await s.client.post(
            "/api/v1/campaigns/mid-autumn/visits",
            json={"ref": code, "material": mid, "kind": "view"},
            headers=await s.login("late"),
        )
        assert (late.status_code, late.json()["error"]) == (404, "no_material")
        assert (await s.client.get(public)).status_code == 404
        assert not (await s.reconcile()).problems


async def test_two_decisions_at_once_one_wins(serve_with_ledger: Serve) -> None:
    """Two operators on one post at the same moment: exactly one decision lands, the other
    is told it was decided already."""
    async with serve_with_ledger() as s:
        buyer = await _paid_buyer(s, "buyer")
        for round_ in range(4):  # within a buyer's burst of posts
            mid = (await _post(s, buyer, f"第 {round_} 条", [])).json()["material_id"]
            answers = await asyncio.gather(
                s.client.post(f"/api/v1/ops/materials/{mid}/approve", json={}, headers=s.ops),
                s.client.post(
                    f"/api/v1/ops/materials/{mid}/reject", json={"reason": "重复"}, headers=s.ops
                ),
            )
            assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
            [won] = [a.json() for a in answers if a.status_code == 200]
            assert (await _ops_row(s, mid))["status"] == won["status"]


async def test_rejected_posts_keep_their_reason_and_ops_add_posters_and_videos(
    serve_with_ledger: Serve,
) -> None:
    async with serve_with_ledger() as s:
        buyer = await _paid_buyer(s, "picky")
        mid = (await _post(s, buyer, "一般般", [])).json()["material_id"]
        no_reason = await s.client.post(
            f"/api/v1/ops/materials/{mid}/reject", json={}, headers=s.ops
        )
        assert (no_reason.status_code, no_reason.json()["field"]) == (422, "reason")
        r = await s.client.post(
            f"/api/v1/ops/materials/{mid}/reject", json={"reason": "与商品无关"}, headers=s.ops
        )
        assert r.status_code == 200 and r.json()["status"] == "rejected"
        mine = await s.client.get("/api/v1/campaigns/mid-autumn/posts/mine", headers=buyer)
        assert [(p["status"], p["reason"]) for p in mine.json()["posts"]] == [
            ("rejected", "与商品无关")
        ]
        late = await s.client.post(f"/api/v1/ops/materials/{mid}/approve", json={}, headers=s.ops)
        assert late.status_code == 409

        poster = await s.client.post(
            "/api/v1/ops/materials",
            data={"campaign_id": "mid-autumn", "kind": "poster", "title": "中秋礼盒海报"},
            files=[("image", ("poster.png", _png(), "image/png"))],
            headers=s.ops,
        )
        assert poster.status_code == 201, poster.text
        video = await s.client.post(
            "/api/v1/ops/materials",
            data={
                "campaign_id": "mid-autumn",
                "kind": "video",
                "title": "主播试吃",
                "video_url": "https://video.example.com/v/123",
            },
            headers=s.ops,
        )
        assert video.status_code == 201, video.text
        code = await s.become_distributor(await s.login("seller"))
        words = video.json()["material_id"]
        card = await s.client.get(
            f"/api/v1/campaigns/mid-autumn/materials/{words}/card.png?ref={code}"
        )
        with Image.open(io.BytesIO(card.content)) as image:  # a card of its words, then the QR
            assert image.size == (750, 900)
        listed = (await s.client.get("/api/v1/campaigns/mid-autumn/materials")).json()
        assert [(m["kind"], m["title"], m["images"]) for m in listed["materials"]] == [
            ("video", "主播试吃", 0),
            ("poster", "中秋礼盒海报", 1),
        ]


@pytest.mark.parametrize(
    ("fields", "files", "status", "field"),
    [
        ({"campaign_id": "mid-autumn", "kind": "poster", "title": "海报"}, [], 422, "image"),
        ({"campaign_id": "mid-autumn", "kind": "gif", "title": "x"}, [], 422, "kind"),
        ({"campaign_id": "mid-autumn", "kind": "video", "title": ""}, [], 422, "title"),
        (
            {"campaign_id": "mid-autumn", "kind": "video", "title": "v", "video_url": "http://a.b"},
            [],
            422,
            "video_url",
        ),
        (
            {
                "campaign_id": "mid-autumn",
                "kind": "video",
                "title": "v",
                "video_url": "javascript:x",
            },
            [],
            422,
            "video_url",
        ),
        ({"campaign_id": "nope", "kind": "video", "title": "v"}, [], 404, "campaign_id"),
        (
            {"campaign_id": "mid-autumn", "kind": "poster", "title": "海报"},
            [("image", ("a.jpg", b"not an image", "image/jpeg"))],
            422,
            "image",
        ),
    ],
)
async def test_bad_materials_from_ops_add_nothing(
    serve_with_ledger: Serve, fields: dict[str, str], files: list[Any], status: int, field: str
) -> None:
    async with serve_with_ledger() as s:
        r = await s.client.post(
            "/api/v1/ops/materials", data=fields, files=files or None, headers=s.ops
        )
        assert (r.status_code, r.json()["field"]) == (status, field), r.text
        assert await _stored(s) == 0


async def test_bad_posts_add_nothing(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger() as s:
        stranger = await s.login("never-paid")
        r = await _post(s, stranger, "好吃", [])
        assert (r.status_code, r.json()["error"]) == (403, "no_paid_order")
        buyer = await _paid_buyer(s, "buyer")
        for text, images, field in [
            ("", [], "text"),
            ("长" * 501, [], "text"),
            ("十张", [_png()] * 10, "images"),
            ("坏图", [_png(), b"GIF89a not really"], "images[1]"),
        ]:
            r = await _post(s, buyer, text, images)
            assert (r.status_code, r.json()["field"]) == (422, field), (field, r.text)
        assert await _stored(s) == 0
        assert not any((s.app.state.gateway.settings.data_dir / "media").glob("**/*.jpg"))


async def test_a_material_the_ledger_refuses_leaves_no_images_behind(
    serve_with_ledger: Serve,
) -> None:
    async with serve_with_ledger() as s:
        engine = s.app.state.gateway.ledger
        async with engine.begin() as conn:  # the real database refuses the row
            for statement in REFUSE_MATERIALS[conn.dialect.name]:
                await conn.execute(text(statement))
        r = await s.client.post(
            "/api/v1/ops/materials",
            data={"campaign_id": "mid-autumn", "kind": "poster", "title": "中秋礼盒海报"},
            files=[("image", ("poster.png", _png(), "image/png"))],
            headers=s.ops,
        )
        assert (r.status_code, r.json()["error"]) == (503, "unavailable"), r.text
        assert await _stored(s) == 0
        assert not any((s.app.state.gateway.settings.data_dir / "media").glob("**/*.jpg"))


REFUSE_MATERIALS = {
    "sqlite": [
        "CREATE TRIGGER refuse_materials BEFORE INSERT ON materials "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_row() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
        "CREATE TRIGGER refuse_materials BEFORE INSERT ON materials "
        "FOR EACH ROW EXECUTE FUNCTION refuse_row()",
    ],
}


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 1200), (180, 30, 30)).save(out, "PNG")
    return out.getvalue()


async def _stored(s: LiveServer) -> int:
    async with s.app.state.gateway.ledger.connect() as conn:
        return len((await conn.execute(select(materials.c.material_id))).all())
