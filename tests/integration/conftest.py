from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.campaigns import campaign_text, write_campaign
from tests.conftest import make_settings
from tests.server_harness import LiveServer, run_server

PRESALE_OPEN = "2026-09-01T20:00:00+08:00"
GROUP_OPEN = "2026-09-06T10:00:00+08:00"

Serve = Callable[..., contextlib.AbstractAsyncContextManager[LiveServer]]


@pytest.fixture
def serve(redis: Redis, redis_url: str, key_prefix: str, tmp_path: Path) -> Serve:
    """Start the real app for this test: serve(text=..., clock_start=...)."""

    @contextlib.asynccontextmanager
    async def _serve(
        text: str | None = None, clock_start: str = PRESALE_OPEN, **overrides: Any
    ) -> AsyncIterator[LiveServer]:
        from datetime import datetime

        path = write_campaign(tmp_path, text or campaign_text(100, 0, 0))
        settings = make_settings(
            key_prefix,
            campaign_file=path,
            clock_start=datetime.fromisoformat(clock_start),
            **overrides,
        )
        async with run_server(settings, redis_url) as server:
            yield server

    return _serve
