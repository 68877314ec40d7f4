"""Where a pushed notice goes beyond the inbox. One interface: the outbound webhook here; SMS
or WeChat subscription messages plug in behind it (each a `Channel`).

A channel gets each notice with its key as an idempotency key: after a crash between the
send and its record, the notice is sent again under the same key, and the receiver (the
sandbox here; SMS and WeChat gateways take a request id) keeps it once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import aiohttp
import orjson

from server.payments.signature import sign


@dataclass(frozen=True)
class Outbound:
    id: str  # "<campaign>:<notice key>": the idempotency key
    campaign_id: str
    user: str
    kind: str
    text: str
    at_ms: int


class ChannelRetry(Exception):
    """Not delivered this time (down, slow, 5xx): try again later."""


class ChannelRefused(Exception):
    """The receiver said no (4xx): trying again would not help."""


class Channel(Protocol):
    name: str

    async def send(self, message: Outbound) -> None: ...

    async def close(self) -> None: ...


class InboxOnly:
    """No channel configured: a pushed notice is the inbox and the live room."""

    name = "inbox"

    async def send(self, message: Outbound) -> None:
        return None

    async def close(self) -> None:
        return None


class Webhook:
    """POST the notice as JSON, signed like the payment webhook (`X-Signature`), with its
    id in `Idempotency-Key`."""

    name = "webhook"

    def __init__(self, url: str, secret: str, timeout_s: float = 5.0) -> None:
        self._url = url
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, message: Outbound) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        body = orjson.dumps(message.__dict__)
        headers = {
            "Content-Type": "application/json",
            "X-Signature": sign(self._secret, body),
            "Idempotency-Key": message.id,
        }
        try:
            async with self._session.post(self._url, data=body, headers=headers) as answer:
                status = answer.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ChannelRetry(exc.__class__.__name__) from None
        if 400 <= status < 500 and status not in (408, 429):
            raise ChannelRefused(f"HTTP {status}")
        if status >= 300:
            raise ChannelRetry(f"HTTP {status}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
