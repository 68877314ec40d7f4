"""The sandbox payment provider: what a real provider would send, signed the same way.
The demo, the tests and the load tools play the provider with it."""

from __future__ import annotations

import orjson

from server.payments.signature import sign


def signed_notice(
    secret: str, payment_id: str, amount_fen: int, status: str = "succeeded"
) -> tuple[bytes, dict[str, str]]:
    """The webhook body and headers for one payment outcome."""
    body = orjson.dumps({"payment_id": payment_id, "amount_fen": amount_fen, "status": status})
    return body, {"X-Signature": sign(secret, body), "Content-Type": "application/json"}
