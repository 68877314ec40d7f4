"""A viewer's delivery address: what makes one valid, and how each role sees it.

An address is never edited in place: a change retires the old row and adds a new one, so an
order keeps pointing at the address it was shipped to (the pick list prints that one).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.domain.privacy import mask_name, mask_phone, mask_street
from server.domain.regions import Region, resolve
from server.errors import BadInput

MAX_ADDRESSES = 20  # per viewer: an address book, not a mailing list
_MOBILE = re.compile(r"^1[3-9]\d{9}$")  # mainland mobile numbers (the carriers' SMS reach them)


@dataclass(frozen=True)
class AddressInput:
    recipient: str
    phone: str
    region: Region
    street: str


def _text(body: Mapping[str, Any], field: str, least: int, most: int) -> str:
    value = body.get(field)
    if not isinstance(value, str):
        raise BadInput(f"{field} is required", field, "required")
    value = unicodedata.normalize("NFC", value).strip()
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise BadInput(f"{field} has control characters", field)
    if not least <= len(value) <= most:
        raise BadInput(f"{field} must be {least} to {most} characters", field, "length")
    return value


def parse_address(body: Mapping[str, Any]) -> AddressInput:
    """Validate an address from outside; BadInput names the first bad field."""
    recipient = _text(body, "recipient", 1, 20)
    phone = _text(body, "phone", 1, 20).replace(" ", "").replace("-", "")
    if not _MOBILE.match(phone):
        raise BadInput("phone must be an 11-digit mainland mobile number", "phone", "phone")
    codes = {}
    for field in ("province", "city", "district"):
        value = body.get(field, "")
        if not isinstance(value, str) or (value and not value.isdigit()):
            raise BadInput(f"{field} must be a division code", field, "unknown_region")
        codes[field] = value
    region = resolve(codes["province"], codes["city"], codes["district"])
    street = _text(body, "street", 4, 120)
    return AddressInput(recipient, phone, region, street)


def shown(row: Mapping[str, Any], whole: bool) -> dict[str, Any]:
    """An address as a reader sees it: the owner and roles allowed whole; others masked."""
    return {
        "id": row["address_id"],
        "recipient": row["recipient"] if whole else mask_name(row["recipient"]),
        "phone": row["phone"] if whole else mask_phone(row["phone"]),
        "region_code": row["region_code"],
        "region": row["region_label"],
        "street": row["street"] if whole else mask_street(row["street"]),
        "is_default": bool(row["is_default"]),
    }
