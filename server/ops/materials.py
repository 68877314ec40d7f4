"""The material library's actions, shared by the API and the console: a buyer's post, ops'
decisions and own materials (audited), what may be shown, and the picture a share carries.
The rules are domain/materials.py; the rows library.py; the images media.py."""

from __future__ import annotations

import asyncio
from typing import Any

from server.domain.materials import (
    MAX_TEXT,
    POSTABLE_STATUSES,
    Action,
    Kind,
    Status,
    check_post,
    check_title,
    check_video_url,
)
from server.errors import BadInput, Forbidden, NotFound
from server.gateway.context import Gateway
from server.growth.library import new_id
from server.growth.media import clean_image, drop_images, image_key, save_images
from server.i18n import t
from server.ops.audit import Actor
from server.runtime import LiveCampaign
from server.share.material_card import card_png


async def add_post(
    gw: Gateway, live: LiveCampaign, user: str, text: str, raws: list[bytes]
) -> dict[str, Any]:
    """A buyer's 晒单, pending until ops decide. Their orders come from Redis, not the
    ledger: a buyer may post the moment the payment went through."""
    text = check_post(text, len(raws))
    paid = await paid_orders(live, user)
    if not paid:
        raise Forbidden("only a buyer with a paid order posts", None, "no_paid_order")
    images = [  # decoding is CPU work: off the event loop the orders run on
        await asyncio.to_thread(clean_image, raw, f"images[{i}]") for i, raw in enumerate(raws)
    ]
    return await _add(
        gw, live.campaign.id, "post", user, "pending", images, text=text, order_id=paid[0]["id"]
    )


async def paid_orders(live: LiveCampaign, user: str) -> list[dict[str, Any]]:
    """The buyer's orders in the campaign that let them post."""
    return [o for o in await live.orders.orders_of(user) if o["status"] in POSTABLE_STATUSES]


async def add_material(
    gw: Gateway, actor: Actor, fields: dict[str, str], files: list[bytes]
) -> dict[str, Any]:
    """Ops' own: a poster (title, text, one image) or a video link (title, text,
    video_url), approved as it is added, audited."""
    campaign_id = fields.get("campaign_id", "")
    if campaign_id not in gw.runtime.campaigns:
        raise NotFound("no such campaign", "campaign_id", "not_found")
    if fields.get("kind") not in ("poster", "video"):
        raise BadInput("poster or video", "kind", "invalid")
    kind: Kind = "poster" if fields["kind"] == "poster" else "video"
    title = check_title(fields.get("title", ""))
    text = fields.get("text", "").strip()
    if len(text) > MAX_TEXT:
        raise BadInput(f"at most {MAX_TEXT} characters", "text", "length")
    images: list[tuple[bytes, bytes]] = []
    video_url = None
    if kind == "poster":
        if len(files) != 1:
            raise BadInput("a poster is one image", "image", "required")
        images = [await asyncio.to_thread(clean_image, files[0], "image")]
    else:
        video_url = check_video_url(fields.get("video_url", ""))
    row = await _add(
        gw, campaign_id, kind, actor.name, "approved", images,
        title=title, text=text, video_url=video_url,
    )  # fmt: skip
    await gw.audit.record(actor, f"material_add_{kind}", row["material_id"], None, title)
    return row


async def _add(
    gw: Gateway,
    campaign_id: str,
    kind: Kind,
    author: str,
    status: Status,
    images: list[tuple[bytes, bytes]],
    **values: Any,
) -> dict[str, Any]:
    """Images first: a row never names images that are not kept. A row that could not be
    written takes its images with it, unless it may have been written after all."""
    material_id = new_id()
    await save_images(gw.media, material_id, images)
    now_ms = gw.runtime.clock.now_ms()
    decided = {"decided_by": author, "decided_at_ms": now_ms} if status == "approved" else {}
    row = (
        {"title": "", "text": "", "order_id": None, "video_url": None}
        | values
        | decided
        | {
            "material_id": material_id,
            "campaign_id": campaign_id,
            "kind": kind,
            "author": author,
            "images": len(images),
            "status": status,
            "created_at_ms": now_ms,
        }
    )
    try:
        return await gw.library.add(row)
    except Exception:
        if not await _written(gw, material_id):
            await drop_images(gw.media, material_id, len(images))
        raise


async def _written(gw: Gateway, material_id: str) -> bool:
    """Whether the row exists; True when that cannot be told (then the images stay)."""
    try:
        await gw.library.find(material_id)
    except NotFound:
        return False
    except Exception:
        return True
    return True


async def decide(
    gw: Gateway, actor: Actor, material_id: str, action: Action, reason: str | None
) -> dict[str, Any]:
    """Approve, reject (with a reason) or take down, audited; the material after it."""
    if action != "approve" and not reason:
        raise BadInput("say why", "reason", "required")
    before, after = await gw.library.decide(
        material_id, action, actor.name, reason or "", gw.runtime.clock.now_ms()
    )
    await gw.audit.record(
        actor, f"material_{action}", material_id, before["status"], after["status"]
    )
    return after


async def approved(gw: Gateway, live: LiveCampaign, material_id: str) -> dict[str, Any]:
    """A material viewers may see: approved, in this campaign."""
    found = await gw.library.find(material_id)
    if found["campaign_id"] != live.campaign.id or found["status"] != "approved":
        raise NotFound("no material with this id", "material_id", "no_material")
    return found


async def image(gw: Gateway, found: dict[str, Any], name: str) -> bytes:
    """One of the material's kept images by its public name ("2.jpg", "2.thumb.jpg")."""
    key = image_key(found["material_id"], name)
    data = await gw.media.get(key) if key and int(name[0]) <= found["images"] else None
    if data is None:
        raise NotFound("no such image", "image")
    return data


async def card(gw: Gateway, found: dict[str, Any], url: str) -> bytes:
    """The material as a picture with the QR code of `url` on it (PNG)."""
    picture = await image(gw, found, "1.jpg") if found["images"] else None
    words = found["title"] or found["text"]
    return await asyncio.to_thread(card_png, picture, words, t("poster.scan"), url)
