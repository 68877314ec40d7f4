"""The audit log: who did what to what, when, and the state before and after. Entries go to
the ops stream in Redis (where the action itself went) and the worker writes them to the
ledger's audit_log exactly once, like every other stream."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from server.store.keys import OpsKeys


@dataclass(frozen=True)
class Actor:
    """Who acts: a person signed in to the console, or automation with the ops token."""

    name: str
    role: str


AUTOMATION = Actor("api", "admin")  # the ops token: for scripts and the demo's simulation


class Audit:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._stream = OpsKeys(prefix).audit

    async def record(
        self, actor: Actor, action: str, target: str, before: Any = None, after: Any = None
    ) -> None:
        await self._redis.xadd(
            self._stream,
            {
                "type": "audit",
                "actor": actor.name,
                "role": actor.role,
                "action": action,
                "target": target[:128],
                "before": _text(before),
                "after": _text(after),
                "at_ms": int(time.time() * 1000),  # real time: when a person acted
            },
        )


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else orjson.dumps(value).decode()
