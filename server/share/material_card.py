"""A material as a distributor shares it: the material's picture (or its words on a card,
for a video link or a text-only post) above a band with the QR code of the distributor's
link and what to do with it. PNG, 750 px wide (a phone's screen at 2x), made with Pillow;
long-pressed and saved on a phone, it goes to 朋友圈 or a group chat."""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from server.share.poster import WIDTH, _font, cjk_font
from server.share.qr import qr_image

BAND = 300  # the QR band's height
QR_SIDE = 240
MAX_PICTURE = 1000  # the tallest picture kept above the band
MARGIN = 40


@lru_cache(maxsize=256)
def card_png(picture: bytes | None, words: str, scan: str, url: str) -> bytes:
    """`picture`: the material's first image (a kept JPEG), or None for a card of `words`."""
    top = _picture(picture) if picture else _words(words)
    image = Image.new("RGB", (WIDTH, top.height + BAND), "#ffffff")
    image.paste(top, (0, 0))
    code = qr_image(url, QR_SIDE)
    assert isinstance(code, Image.Image)
    code = code.convert("RGB").resize((QR_SIDE, QR_SIDE), Image.Resampling.NEAREST)
    image.paste(code, (MARGIN, top.height + (BAND - QR_SIDE) // 2))
    font = cjk_font()
    if font is not None:
        draw = ImageDraw.Draw(image)
        left = MARGIN * 2 + QR_SIDE
        lines = _wrapped(scan, _font(font, 34), WIDTH - left - MARGIN)
        y = top.height + BAND // 2 - 24 * len(lines)
        for line in lines:
            draw.text((left, y), line, font=_font(font, 34), fill="#5b4636")
            y += 48
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _picture(jpeg: bytes) -> Image.Image:
    with Image.open(io.BytesIO(jpeg)) as found:
        picture = found.convert("RGB")
    height = round(picture.height * WIDTH / picture.width)
    picture = picture.resize((WIDTH, height), Image.Resampling.LANCZOS)
    if height > MAX_PICTURE:  # a tall photo: its middle
        cut = (height - MAX_PICTURE) // 2
        picture = picture.crop((0, cut, WIDTH, cut + MAX_PICTURE))
    return picture


def _words(words: str) -> Image.Image:
    card = Image.new("RGB", (WIDTH, 600), "#b3261e")
    font = cjk_font()
    if font is not None:
        draw = ImageDraw.Draw(card)
        lines = _wrapped(words, _font(font, 48), WIDTH - 2 * MARGIN)[:8]
        y = max(MARGIN, (600 - 66 * len(lines)) // 2)
        for line in lines:
            draw.text((MARGIN, y), line, font=_font(font, 48), fill="#ffffff")
            y += 66
    return card


def _wrapped(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines of at most `width` pixels, broken anywhere (Chinese has no spaces to break at)."""
    lines: list[str] = []
    line = ""
    for char in text.replace("\n", " "):
        if line and font.getlength(line + char) > width:
            lines.append(line)
            line = ""
        line += char
    return [*lines, line] if line else lines
