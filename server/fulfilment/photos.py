"""Photos a buyer sends with an after-sale request: checked to be an image of an accepted
type and size by decoding it (Pillow), then re-encoded as a JPEG no larger than the console
shows, which drops EXIF (a phone's GPS position among it) and anything hidden in the file."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from server.domain.after_sale import MAX_PHOTO_BYTES
from server.errors import BadInput

ACCEPTED = ("JPEG", "PNG", "WEBP")
MAX_PIXELS = 40_000_000  # a 48-megapixel phone photo is allowed; a decompression bomb is not
LONGEST_SIDE = 1600


def clean_photo(
    raw: bytes, field: str, max_bytes: int = MAX_PHOTO_BYTES, longest: int = LONGEST_SIDE
) -> bytes:
    """The photo as we keep it (a JPEG whose longest side is at most `longest`), or
    BadInput naming the field."""
    if len(raw) > max_bytes:
        raise BadInput(f"a photo is at most {max_bytes} bytes", field, "photo_too_large")
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            kind, size = probe.format, probe.size
            probe.verify()
        if kind not in ACCEPTED:
            raise BadInput("a photo is a JPEG, PNG or WebP image", field, "not_a_photo")
        if size[0] * size[1] > MAX_PIXELS:
            raise BadInput("the photo has too many pixels", field, "photo_too_large")
        with Image.open(io.BytesIO(raw)) as image:
            upright = ImageOps.exif_transpose(image).convert("RGB")
        upright.thumbnail((longest, longest))
        out = io.BytesIO()
        upright.save(out, "JPEG", quality=85, optimize=True)  # no exif= : none is written
        return out.getvalue()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise BadInput("a photo is a JPEG, PNG or WebP image", field, "not_a_photo") from None


def photo_dir(data_dir: Path, request_id: str) -> Path:
    return data_dir / "after_sale" / request_id


def save_photos(data_dir: Path, request_id: str, photos: list[bytes]) -> list[str]:
    """Kept under the data directory, readable by this user only; their names."""
    folder = photo_dir(data_dir, request_id)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    names = []
    for n, photo in enumerate(photos, start=1):
        name = f"{n}.jpg"
        (folder / name).write_bytes(photo)
        (folder / name).chmod(0o600)
        names.append(name)
    return names


def photo_path(data_dir: Path, request_id: str, name: str) -> Path | None:
    """A kept photo by its name ("1.jpg" ... ), never a path outside its folder."""
    if name not in {f"{n}.jpg" for n in range(1, 10)}:
        return None
    path = photo_dir(data_dir, request_id) / name
    return path if path.is_file() else None
