"""Material images in S3-compatible object storage (LIVEROOM_MEDIA_S3_BUCKET): boto3 talks
HTTP to moto's S3 server on loopback, as it would to MinIO or a cloud bucket. A buyer's post
lands in the bucket, not the data directory, and the library serves it from there."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

from server.growth.media import S3Media
from tests.integration.conftest import Serve
from tests.integration.test_after_sale_api import photo_with_gps


@pytest.fixture
def bucket() -> str:
    """A bucket of this test's own (moto's server keeps every bucket in this process)."""
    return f"liveroom-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch, bucket: str) -> Iterator[str]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test-key",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    yield endpoint
    server.stop()


async def test_an_object_round_trips_is_deleted_and_a_missing_one_is_none(
    s3_endpoint: str, bucket: str
) -> None:
    store = S3Media(bucket, s3_endpoint, prefix="mid-autumn/")
    await store.put("materials/M1/1.jpg", b"\xff\xd8 a jpeg")
    assert await store.get("materials/M1/1.jpg") == b"\xff\xd8 a jpeg"
    assert await store.get("materials/M1/2.jpg") is None
    listed = boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed["Contents"]] == ["mid-autumn/materials/M1/1.jpg"]
    await store.delete("materials/M1/1.jpg")
    await store.delete("materials/M1/2.jpg")  # never there: no error
    assert await store.get("materials/M1/1.jpg") is None


@pytest.mark.parametrize("redis_url", ["valkey"], indirect=True)
@pytest.mark.parametrize("ledger_url", ["sqlite"], indirect=True)
async def test_a_post_is_kept_in_the_bucket(
    serve_with_ledger: Serve, s3_endpoint: str, bucket: str
) -> None:
    async with serve_with_ledger(media_s3_bucket=bucket, media_s3_endpoint=s3_endpoint) as s:
        buyer = await s.login("buyer")
        order = await s.order(buyer, mode="direct", qty=1)
        await s.pay(buyer, order["order_id"])
        r = await s.client.post(
            "/api/v1/campaigns/mid-autumn/posts",
            data={"text": "好吃"},
            files=[("images", ("a.jpg", photo_with_gps(), "image/jpeg"))],
            headers=buyer,
        )
        assert r.status_code == 201, r.text
        mid = r.json()["material_id"]
        listed = boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(Bucket=bucket)
        assert sorted(o["Key"] for o in listed["Contents"]) == [
            f"materials/{mid}/1.jpg",
            f"materials/{mid}/1.thumb.jpg",
        ]
        assert not (s.app.state.gateway.settings.data_dir / "media").exists()
        await s.client.post(f"/api/v1/ops/materials/{mid}/approve", json={}, headers=s.ops)
        shown = await s.client.get(f"/api/v1/campaigns/mid-autumn/materials/{mid}/images/1.jpg")
        assert shown.status_code == 200
        with Image.open(io.BytesIO(shown.content)) as image:
            assert image.format == "JPEG" and not image.getexif()
