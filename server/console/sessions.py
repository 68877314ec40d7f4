"""Console sessions: a random cookie (HttpOnly, SameSite=Strict, Secure over HTTPS) naming a
session kept in Redis by the cookie's SHA-256, with its own CSRF token that every form and
htmx request must carry. A session lasts 8 hours from sign-in and 2 idle ones; sign-out
ends it at once, and a change to the account ends all of its sessions."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import asdict, dataclass

import orjson
from redis.asyncio import Redis

from server.store.keys import OpsKeys

COOKIE = "lr_console"
LIFETIME_S = 8 * 3600
IDLE_S = 2 * 3600


@dataclass(frozen=True)
class Session:
    username: str
    display_name: str
    role: str
    csrf: str
    started_at: float

    def csrf_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.csrf.encode())


class Sessions:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._keys = OpsKeys(prefix)

    async def open(self, username: str, display_name: str, role: str) -> tuple[str, Session]:
        cookie = secrets.token_urlsafe(32)
        session = Session(username, display_name, role, secrets.token_urlsafe(24), time.time())
        key, held = self._key(cookie), self._keys.sessions_of(username)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(key, orjson.dumps(asdict(session)), ex=IDLE_S)
            pipe.sadd(held, key)
            pipe.expire(held, LIFETIME_S)
            await pipe.execute()
        return cookie, session

    async def get(self, cookie: str | None) -> Session | None:
        if not cookie or len(cookie) > 100:
            return None
        key = self._key(cookie)
        raw = await self._redis.get(key)
        if raw is None:
            return None
        session = Session(**orjson.loads(raw))
        if time.time() - session.started_at > LIFETIME_S:
            await self._redis.delete(key)
            return None
        await self._redis.expire(key, IDLE_S)  # idle time starts again
        return session

    async def close(self, cookie: str | None) -> None:
        if cookie:
            await self._redis.delete(self._key(cookie))

    async def end_all(self, username: str) -> None:
        """Sign someone out everywhere (disabled, a new role or password)."""
        held = self._keys.sessions_of(username)
        keys = await self._redis.smembers(held)
        await self._redis.delete(held, *keys)

    def _key(self, cookie: str) -> str:
        return self._keys.session(hashlib.sha256(cookie.encode()).hexdigest())
