"""A distributor's share poster: the brand and campaign, the product, the price a new viewer
pays now (and the daily price), and the QR code of their link. PNG, 750×1200 (a phone's
screen width at 2x), made with Pillow.

Chinese text needs a CJK font on the server: LIVEROOM_POSTER_FONT, or one of the usual
places (Debian's fonts-noto-cjk, ...). Without one the poster carries the price and the QR
code only, and the live room around it says the rest.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from server.share.qr import qr_image

log = logging.getLogger("liveroom.share")

WIDTH, HEIGHT = 750, 1200
_FONT_PLACES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
)


@dataclass(frozen=True)
class PosterText:
    title: str  # brand《campaign》
    product: str
    price: str  # 到手价 ¥288
    daily: str  # 日常价 ¥368
    scan: str  # 长按识别二维码，进直播间抢购
    url: str  # what the QR code opens


@cache
def cjk_font() -> str | None:
    chosen = os.environ.get("LIVEROOM_POSTER_FONT")
    for place in ([chosen] if chosen else []) + list(_FONT_PLACES):
        if Path(place).is_file():
            return place
    log.warning("no CJK font found: posters carry the price and QR code only")
    return None


def poster_png(text: PosterText) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), "#fff7ea")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 300), fill="#b3261e")
    font = cjk_font()
    if font is not None:
        _centred(draw, 90, text.title, _font(font, 44), "#ffe9b0")
        _centred(draw, 190, text.product, _font(font, 56), "#ffffff")
        _centred(draw, 380, text.price, _font(font, 72), "#b3261e")
        _centred(draw, 470, text.daily, _font(font, 34), "#8a6d3b")
        _centred(draw, 1130, text.scan, _font(font, 32), "#5b4636")
    else:
        digits = text.price[text.price.find("¥") :] if "¥" in text.price else text.price
        _centred(draw, 400, digits.replace("¥", "RMB "), ImageFont.load_default(48), "#b3261e")
    code = qr_image(text.url, 460)
    assert isinstance(code, Image.Image)
    code = code.convert("RGB").resize((460, 460), Image.Resampling.NEAREST)
    image.paste(code, ((WIDTH - 460) // 2, 580))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


@cache
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _centred(
    draw: ImageDraw.ImageDraw,
    y: int,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    fill: str,
) -> None:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((WIDTH - (right - left)) // 2, y - (bottom - top) // 2), text, font=font, fill=fill)
