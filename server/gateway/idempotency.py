"""Idempotency-Key for POSTs handled outside the reserve script (which keeps its own,
atomically with the order): the first answer is kept and replayed for the same key,
operation, target and body; the same key used for anything else (another body, another
order) is refused with 422 idempotency_mismatch, never answered with the first's result."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from redis.asyncio import Redis
from starlette.datastructures import Headers
from starlette.requests import Request

from server.errors import BadInput, Conflict, LiveroomError
from server.gateway.http import JSONResponse, error_body
from server.store.keys import GlobalKeys

KEY_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
HEADER = "Idempotency-Key"
TTL_S = 7 * 86_400

Handler = Callable[[], Awaitable[tuple[int, Any]]]


def idempotency_key(headers: Headers) -> str | None:
    key = headers.get(HEADER)
    if key is not None and not KEY_RE.fullmatch(key):
        raise BadInput("1-128 letters, digits, '.', '_', ':' or '-'", HEADER)
    return key


def fingerprint(operation: str, target: str, body: bytes) -> str:
    """What a key protects: the operation, its target (an order id, ...) and the body."""
    digest = hashlib.sha256(f"{operation}\x1f{target}\x1f".encode())
    digest.update(body)
    return digest.hexdigest()[:32]


class IdempotencyStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._keys = GlobalKeys(prefix)

    async def run(
        self,
        request: Request,
        scope: str,
        caller: str,
        body: bytes,
        handle: Handler,
        *,
        target: str = "",
    ) -> JSONResponse:
        """Run handle() once per key: `scope` names the operation, `target` what it acts on."""
        key = idempotency_key(request.headers)
        if key is None:
            status, payload = await handle()
            return JSONResponse(payload, status_code=status)
        redis_key = self._keys.idempotency(scope, caller, key)
        digest = fingerprint(scope, target, body)
        claim = orjson.dumps({"hash": digest, "state": "pending"})
        if not await self._redis.set(redis_key, claim, nx=True, ex=TTL_S):
            return await self._replay(redis_key, digest)
        try:
            status, payload = await handle()
        except LiveroomError as exc:
            if exc.status >= 500:
                await self._redis.delete(redis_key)
                raise
            status, payload = exc.status, error_body(exc.code, exc.message, exc.field)
        except BaseException:
            await self._redis.delete(redis_key)
            raise
        done = {"hash": digest, "state": "done", "status": status, "body": payload}
        await self._redis.set(redis_key, orjson.dumps(done), ex=TTL_S)
        return JSONResponse(payload, status_code=status)

    async def _replay(self, redis_key: str, digest: str) -> JSONResponse:
        raw = await self._redis.get(redis_key)
        if raw is None:
            raise Conflict("the first request with this key failed; retry", HEADER, "retry")
        stored = orjson.loads(raw)
        if stored["hash"] != digest:
            raise BadInput("this key was used for another request", HEADER, "idempotency_mismatch")
        if stored["state"] != "done":
            raise Conflict("a request with this key is in progress", HEADER, "in_progress")
        return JSONResponse(stored["body"], status_code=stored["status"])
