"""晒单 and the material library: what a buyer may post, how ops moderate it, and what a
distributor may share.

A buyer whose order in the campaign is paid in full (paid, on its way, delivered or
completed) posts text and up to nine images. A post waits for ops: approved, it is in the
*material library*; rejected, it keeps the reason ops gave and goes no further. Ops add
their own materials, approved as they are added: a poster (one image) or a short video (a
link). Ops take any approved material down. Nothing comes back from rejected or taken
down: a buyer posts again instead.

A distributor shares a live material with their own link: the share URL carries both the
distributor's code (commission stays the seed's rule: the link the order came through) and
the material's id, and the visit it brings counts under the source "material:<id>", which
becomes the buyer's touch, so an order placed after it names the material as its source.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from server.domain.after_sale import MAX_PHOTO_BYTES
from server.errors import BadInput, Conflict

Status = Literal["pending", "approved", "rejected", "taken_down"]
STATUSES: tuple[Status, ...] = ("pending", "approved", "rejected", "taken_down")
Action = Literal["approve", "reject", "take_down"]
ACTIONS: tuple[Action, ...] = ("approve", "reject", "take_down")
Kind = Literal["post", "poster", "video"]  # a buyer's 晒单; ops' own image or video link
KINDS: tuple[Kind, ...] = ("post", "poster", "video")

MAX_IMAGES = 9
MAX_IMAGE_BYTES = MAX_PHOTO_BYTES  # each, as sent (a phone photo); resized on arrival
MAX_POST_BYTES = MAX_IMAGES * MAX_IMAGE_BYTES + 64 * 1024  # nine and the form around them
MAX_TEXT = 500
MAX_TITLE = 40
MAX_REASON = 200
MAX_VIDEO_URL = 300

# An order paid in full, whatever happened to it since (a buyer may post after delivery).
POSTABLE_STATUSES = ("paid", "allocated", "shipped", "delivered", "completed")

MATERIAL_ID_PATTERN = r"^M[0-9a-f]{16}$"
SOURCE_PREFIX = "material:"

_NEXT: dict[tuple[Status, Action], Status] = {
    ("pending", "approve"): "approved",
    ("pending", "reject"): "rejected",
    ("approved", "take_down"): "taken_down",
}


_URL_WORDS: dict[str, Action] = {"approve": "approve", "reject": "reject", "take-down": "take_down"}


def action_in(path: str) -> Action:
    """The action a URL ends with (".../approve", ".../reject", ".../take-down")."""
    return _URL_WORDS[path.rsplit("/", 1)[1]]


def moderate(status: Status, action: Action) -> Status:
    """The material's status after ops' action, or Conflict when its status forbids it."""
    after = _NEXT.get((status, action))
    if after is None:
        raise Conflict(f"a {status} material cannot take {action}", "action", "material_decided")
    return after


def check_post(text: str, images: int) -> str:
    """The post's text as kept (trimmed), or BadInput naming the field."""
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise BadInput(f"at most {MAX_TEXT} characters", "text", "length")
    if images > MAX_IMAGES:
        raise BadInput(f"at most {MAX_IMAGES} images", "images", "too_many_images")
    if not text and not images:
        raise BadInput("say something or add an image", "text", "required")
    return text


def check_title(title: str) -> str:
    title = title.strip()
    if not title or len(title) > MAX_TITLE:
        raise BadInput(f"1 to {MAX_TITLE} characters", "title", "length")
    return title


def check_video_url(url: str) -> str:
    """A short video's address: an https link to a named host, nothing else."""
    url = url.strip()
    parts = urlsplit(url) if len(url) <= MAX_VIDEO_URL else None
    if parts is None or parts.scheme != "https" or not parts.hostname or parts.username:
        raise BadInput("an https:// link to the video", "video_url", "invalid")
    return url


def source_of(material_id: str) -> str:
    """The touch a visit through a shared material leaves."""
    return SOURCE_PREFIX + material_id


def material_of(source: str | None) -> str | None:
    """The material a touch names, if it names one."""
    if source and source.startswith(SOURCE_PREFIX):
        return source[len(SOURCE_PREFIX) :]
    return None
