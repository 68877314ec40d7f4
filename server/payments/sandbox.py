"""The sandbox payment provider: what a real provider would send, signed the same way, and a
provider that takes refunds the way a real one does (once by id, never more than was paid).
The demo, the tests and the load tools play the provider with it."""

from __future__ import annotations

import orjson
from redis.asyncio import Redis

from server.payments.providers import RefundAnswer, RefundAsk
from server.payments.signature import sign
from server.store.keys import SandboxKeys
from server.store.scripts import Scripts


def signed_notice(
    secret: str, payment_id: str, amount_fen: int, status: str = "succeeded"
) -> tuple[bytes, dict[str, str]]:
    """The webhook body and headers for one payment outcome."""
    body = orjson.dumps({"payment_id": payment_id, "amount_fen": amount_fen, "status": status})
    return body, {"X-Signature": sign(secret, body), "Content-Type": "application/json"}


class SandboxProvider:
    """Refunds kept in Redis under `{sandbox}` keys (sandbox_refund.lua): done at once."""

    name = "sandbox"

    def __init__(self, redis: Redis, scripts: Scripts, keys: SandboxKeys) -> None:
        self._redis = redis
        self._scripts = scripts
        self._keys = keys

    async def refund(self, ask: RefundAsk) -> RefundAnswer:
        keys = self._keys
        raw = await self._scripts.sandbox_refund(
            keys=[keys.refunds, keys.returned, keys.refund_requests],
            args=[ask.refund_id, ask.payment_id, ask.amount_fen, ask.payment_fen],
        )
        return _answer(raw)

    async def refund_status(self, ask: RefundAsk) -> RefundAnswer:
        raw = await self._redis.hget(self._keys.refunds, ask.refund_id)
        if raw is None:  # never reached the provider: the sender asks for it again
            return RefundAnswer("pending")
        return _answer(raw)

    async def close(self) -> None:
        return None


def _answer(raw: bytes | str) -> RefundAnswer:
    refund = orjson.loads(raw)
    return RefundAnswer(refund["state"], refund["id"], refund["detail"])
