"""QR codes of share links and group invites, as SVG (crisp at any size, no font needed)."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg


def qr_svg(url: str) -> bytes:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def qr_image(url: str, size: int) -> object:
    """A QR code as a Pillow image of about `size` pixels a side (for posters)."""
    code = qrcode.QRCode(border=1, box_size=max(1, size // 33))
    code.add_data(url)
    code.make(fit=True)
    return code.make_image(fill_color="black", back_color="white").get_image()
