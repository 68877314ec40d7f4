"""The sandbox logistics provider: tracking numbers of the right shape, and the events a
real provider would post, signed the same way. The demo and the tests play the courier."""

from __future__ import annotations

from datetime import datetime

import orjson

from server.payments.signature import sign


def tracking_no(carrier: str, n: int) -> str:
    """A well-formed number for the sandbox's parcels ("SF" + 12 digits, ...)."""
    digits = f"{n:012d}"[-12:]
    shapes = {
        "SF": f"SF{digits}",
        "JD": f"JDV{digits[1:]}",
        "YTO": f"YT{digits}0",
        "STO": f"77{digits[1:]}",
        "JT": f"JT{digits}0",
    }
    return shapes.get(carrier, f"1{digits}")


def signed_event(
    secret: str,
    order_id: str,
    carrier: str,
    number: str,
    status: str,
    at: datetime,
    text: str = "",
    event_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The webhook body and headers for one event about one parcel."""
    body = orjson.dumps(
        {
            "order_id": order_id,
            "carrier": carrier,
            "tracking_no": number,
            "event_id": event_id or f"{number}:{status}",
            "status": status,
            "at": at.isoformat(),
            "text": text,
        }
    )
    return body, {"X-Signature": sign(secret, body), "Content-Type": "application/json"}
