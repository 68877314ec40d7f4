from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from server.ledger.engine import create_engine
from server.ledger.migrate import upgrade
from tests.campaigns import campaign_text, write_campaign
from tests.conftest import make_settings
from tests.server_harness import LiveServer, run_server

PRESALE_OPEN = "2026-09-01T20:00:00+08:00"
GROUP_OPEN = "2026-09-06T10:00:00+08:00"

Serve = Callable[..., contextlib.AbstractAsyncContextManager[LiveServer]]


@pytest.fixture
def serve(redis: Redis, redis_url: str, key_prefix: str, tmp_path: Path) -> Serve:
    return _serve_factory(redis_url, key_prefix, tmp_path)


@pytest.fixture
def serve_with_ledger(
    redis: Redis, redis_url: str, key_prefix: str, tmp_path: Path, ledger_url: str
) -> Serve:
    """The app with its ledger worker running inside, on SQLite or PostgreSQL."""
    return _serve_factory(
        redis_url, key_prefix, tmp_path, database_url=ledger_url, embedded_worker=True
    )


def _serve_factory(redis_url: str, key_prefix: str, tmp_path: Path, **defaults: Any) -> Serve:
    """Start the real app for this test: serve(text=..., clock_start=...)."""

    @contextlib.asynccontextmanager
    async def _serve(
        text: str | None = None,
        clock_start: str = PRESALE_OPEN,
        order_lane: bool = True,
        **overrides: Any,
    ) -> AsyncIterator[LiveServer]:
        from datetime import datetime

        path = write_campaign(tmp_path, text or campaign_text(100, 0, 0))
        settings = make_settings(
            key_prefix,
            campaign_file=path,
            clock_start=datetime.fromisoformat(clock_start),
            data_dir=tmp_path,
            **{**defaults, **overrides},
        )
        async with run_server(settings, redis_url, order_lane) as server:
            yield server

    return _serve


@pytest.fixture
async def ledger_engine(ledger_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(ledger_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()
