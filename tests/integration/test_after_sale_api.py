"""After-sale through the API: one box of three arrives broken; the buyer asks with a photo,
the after-sale period waits for the decision, ops refund one box and put it back in stock;
the commission, the pools, the warehouse and the ledger follow exactly; reconcile is clean."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest
from PIL import Image

from server.fulfilment.sandbox_courier import signed_event, tracking_no
from tests.conftest import LOGISTICS_SECRET
from tests.integration.conftest import Serve
from tests.integration.test_distribution import amounts, commissions
from tests.server_harness import LiveServer

pytestmark = pytest.mark.usefixtures("ledger_url")


def photo_with_gps() -> bytes:
    """A phone photo: a JPEG whose EXIF says where it was taken."""
    image = Image.new("RGB", (2400, 1800), (200, 120, 40))
    exif = Image.Exif()
    exif[0x8825] = {2: (31.0, 12.0, 0.0), 4: (121.0, 28.0, 0.0)}  # GPSInfo
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


async def _delivered(s: LiveServer, buyer: dict[str, str], ref: str | None) -> str:
    order = await s.order(buyer, mode="direct", qty=3, **({"ref": ref} if ref else {}))
    oid = order["order_id"]
    await s.pay(buyer, oid)
    await s.ship_to(buyer, oid)
    number = tracking_no("SF", 3)
    csv = f"订单号,快递公司,运单号\n{oid},SF,{number}\n".encode()
    r = await s.client.post(
        "/api/v1/ops/shipments?campaign_id=mid-autumn", content=csv, headers=s.ops
    )
    assert r.status_code == 200, r.text
    at = datetime.fromisoformat("2026-09-02T10:00:00+08:00")
    body, headers = signed_event(LOGISTICS_SECRET, oid, "SF", number, "delivered", at)
    r = await s.client.post("/api/v1/logistics/webhook", content=body, headers=headers)
    assert r.json()["status"] == "delivered", r.text
    return str(oid)


async def _ask(
    s: LiveServer, buyer: dict[str, str], oid: str, units: str, photos: list[bytes]
) -> Any:
    files = [("photos", (f"p{i}.jpg", p, "image/jpeg")) for i, p in enumerate(photos)]
    return await s.client.post(
        f"/api/v1/orders/{oid}/after-sale",
        data={"reason": "damaged", "units": units, "text": "礼盒压坏了一盒"},
        files=files or None,
        headers={"Authorization": buyer["Authorization"]},
    )


async def test_one_broken_box_of_three(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger() as s:
        distributor, buyer = await s.login("dist"), await s.login("buyer")
        code = await s.become_distributor(distributor)
        oid = await _delivered(s, buyer, code)
        stock_before = (await s.stock())["pools"]["distribution"]

        bad = await _ask(s, buyer, oid, "1", [b"not a picture at all"])
        assert (bad.status_code, bad.json()["field"]) == (422, "photos[0]")
        too_many = await _ask(s, buyer, oid, "4", [])
        assert too_many.json()["error"] == "units_out_of_range"
        asked = await _ask(s, buyer, oid, "1", [photo_with_gps()])
        assert asked.status_code == 201, asked.text
        request = asked.json()
        assert (request["status"], request["photos"]) == ("open", 1)
        again = await _ask(s, buyer, oid, "1", [])
        assert again.status_code == 409

        kept = await s.client.get(
            f"/api/v1/ops/after-sales/{request['id']}/photos/1.jpg", headers=s.ops
        )
        assert kept.headers["content-type"] == "image/jpeg"
        with Image.open(io.BytesIO(kept.content)) as image:
            assert not image.getexif() and max(image.size) == 1600

        await s.advance(8 * 86_400)  # the period waits for the decision
        mine = (await s.my_orders(buyer))[oid]
        assert mine["status"] == "delivered" and mine["after_sale"]["open"]
        assert amounts(await commissions(s, distributor)) == {"frozen": 3 * 36_800 * 15 // 100}

        approve = f"/api/v1/ops/after-sales/{request['id']}/approve"
        whole = await s.client.post(approve, json={"units": 3, "reason": "全退"}, headers=s.ops)
        assert whole.json()["error"] == "units_out_of_range"  # all three: the whole refund
        r = await s.client.post(
            approve,
            json={"units": 1, "restock_units": 1, "reason": "照片属实，退一盒"},
            headers=s.ops,
        )
        assert r.status_code == 200, r.text
        assert r.json()["request"]["refund_fen"] == 36_800
        assert r.json()["order"]["refunded_fen"] == 36_800
        twice = await s.client.post(
            f"/api/v1/ops/after-sales/{request['id']}/approve",
            json={"units": 1, "reason": "再退一次"},
            headers=s.ops,
        )
        assert (twice.status_code, twice.json()["error"]) == (409, "request_decided")

        after = (await s.stock())["pools"]["distribution"]
        assert after["sold"] == stock_before["sold"] - 1  # the box is sellable again
        houses = await s.client.get("/api/v1/ops/warehouses?campaign_id=mid-autumn", headers=s.ops)
        shanghai = houses.json()["warehouses"][0]
        assert (shanghai["shipped"], shanghai["free"]) == (2, shanghai["stock"] - 2)

        # The period had run out while the request waited: it ends now, on two boxes kept.
        done = await s.wait_for_status(buyer, oid, "completed")
        last = done["after_sale"].pop("last")
        assert done["after_sale"] == {"open": False, "refunded_fen": 36_800, "units": 1}
        assert (last["verdict"], last["reason"]) == ("approved", "照片属实，退一盒")
        assert amounts(await commissions(s, distributor)) == {"settled": 11_040}
        listed = await s.client.get(
            "/api/v1/ops/after-sales?campaign_id=mid-autumn&status=approved", headers=s.ops
        )
        [row] = listed.json()["requests"]
        assert (row["refund_fen"], row["restock_units"], row["photos"]) == (36_800, 1, 1)
        report = await s.reconcile()
        assert report.problems == [], report.problems
        assert report.refunded_fen == 36_800 and report.kept_fen == 2 * 36_800
