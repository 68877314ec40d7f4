"""Where material images are kept: files under the data directory by default, or an
S3-compatible bucket (boto3) when LIVEROOM_MEDIA_S3_BUCKET is set. Each image is kept
twice: as shown full size (at most 1600 px, EXIF dropped, fulfilment/photos.py) and as a
thumbnail for lists (at most 480 px).

Keys are made here only ("materials/<id>/<n>.jpg", "…/<n>.thumb.jpg"), never from input."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any, Protocol

from server.domain.materials import MAX_IMAGE_BYTES
from server.fulfilment.photos import clean_photo
from server.settings import Settings

THUMB_SIDE = 480
_NAME = re.compile(r"[1-9](\.thumb)?\.jpg")


class MediaStore(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes | None: ...

    async def delete(self, key: str) -> None: ...


def clean_image(raw: bytes, field: str) -> tuple[bytes, bytes]:
    """An uploaded image as kept, and its thumbnail; BadInput naming the field otherwise.
    CPU work: call it off the event loop."""
    full = clean_photo(raw, field, MAX_IMAGE_BYTES)
    return full, clean_photo(full, field, MAX_IMAGE_BYTES, THUMB_SIDE)


def image_key(material_id: str, name: str) -> str | None:
    """The key of a material's image by its public name ("2.jpg", "2.thumb.jpg")."""
    return f"materials/{material_id}/{name}" if _NAME.fullmatch(name) else None


async def save_images(
    store: MediaStore, material_id: str, images: list[tuple[bytes, bytes]]
) -> None:
    for n, (full, thumb) in enumerate(images, start=1):
        await store.put(f"materials/{material_id}/{n}.jpg", full)
        await store.put(f"materials/{material_id}/{n}.thumb.jpg", thumb)


async def drop_images(store: MediaStore, material_id: str, count: int) -> None:
    for n in range(1, count + 1):
        await store.delete(f"materials/{material_id}/{n}.jpg")
        await store.delete(f"materials/{material_id}/{n}.thumb.jpg")


class LocalMedia:
    """Files under <data dir>/media, readable by this user only."""

    def __init__(self, root: Path) -> None:
        self._root = root

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, self._root / key, data)

    async def get(self, key: str) -> bytes | None:
        path = self._root / key
        return await asyncio.to_thread(path.read_bytes) if path.is_file() else None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread((self._root / key).unlink, missing_ok=True)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_bytes(data)
        path.chmod(0o600)


class S3Media:
    """An S3-compatible bucket (AWS, MinIO, OSS/COS in S3 mode). Credentials come the way
    boto3 finds them (AWS_ACCESS_KEY_ID ... or an instance role), never from our settings."""

    def __init__(self, bucket: str, endpoint_url: str | None = None, prefix: str = "") -> None:
        import boto3  # only where S3 is configured

        self._client: Any = boto3.client("s3", endpoint_url=endpoint_url or None)
        self._bucket = bucket
        self._prefix = prefix

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self._bucket,
            Key=self._prefix + key,
            Body=data,
            ContentType="image/jpeg",
        )

    async def get(self, key: str) -> bytes | None:
        def read() -> bytes | None:
            try:
                answer = self._client.get_object(Bucket=self._bucket, Key=self._prefix + key)
            except self._client.exceptions.NoSuchKey:
                return None
            body: bytes = answer["Body"].read()
            return body

        return await asyncio.to_thread(read)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(
            self._client.delete_object, Bucket=self._bucket, Key=self._prefix + key
        )


def media_store(settings: Settings) -> MediaStore:
    if settings.media_s3_bucket:
        return S3Media(settings.media_s3_bucket, settings.media_s3_endpoint or None)
    return LocalMedia(settings.data_dir / "media")
