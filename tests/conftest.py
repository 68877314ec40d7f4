"""Real servers for every test: the embedded Valkey always, the Redis at REDIS_URL and the
Redis Cluster at LIVEROOM_TEST_CLUSTER_URL when they are set (CI sets both; `.ci/cluster
start` starts the cluster and prints its URL). Each test gets its own key prefix and deletes
its keys.

A test that needs a service which is missing skips, unless LIVEROOM_REQUIRE_SERVICES=1
(CI), which turns that skip into a failure.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Generator, Iterator, Sequence
from pathlib import Path

import pytest
from redis.asyncio import Redis

from server.demo_reset import delete_keys
from server.embedded import EmbeddedValkey
from server.settings import DEMO_RATE_LIMITS, Settings, parse_rate_limits
from server.store.connection import connect
from server.store.stock import text

REQUIRE_SERVICES = os.environ.get("LIVEROOM_REQUIRE_SERVICES") == "1"
TIME_FACTOR = float(os.environ.get("LIVEROOM_TEST_TIME_FACTOR", "1"))

OPS_TOKEN = "test-ops-token-0123456789abcdefghijkl"
SECRET = "test-viewer-secret-0123456789abcdefghijkl"
PAYMENT_SECRET = "test-payment-secret-0123456789abcdefghijkl"
LOGISTICS_SECRET = "test-logistics-secret-0123456789abcdefghij"
NOTIFY_SECRET = "test-notify-secret-0123456789abcdefghijklm"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under LIVEROOM_REQUIRE_SERVICES=1 no test may skip, whatever asked for the skip."""
    report = yield
    if REQUIRE_SERVICES and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped, but LIVEROOM_REQUIRE_SERVICES=1 forbids it: {report.longrepr}"
    return report


# Every test that needs a Redis runs on each target; one that needs a ledger, on each
# database. A test that needs both runs once per pair, not on every combination: the
# embedded default, production on one server, production on a cluster. Each store is still
# tested on every target; the two never talk to each other, so crossing them would double
# the suite's time and find nothing more. A module may name its own pairs (pytestmark).
REDIS_TARGETS = ["valkey", "redis", "cluster"]
LEDGER_TARGETS = ["sqlite", "postgres"]
STORE_PAIRS = [("valkey", "sqlite"), ("redis", "postgres"), ("cluster", "postgres")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    named = {
        name
        for marker in metafunc.definition.iter_markers("parametrize")
        for name in _names(marker.args[0])
    }
    needs = {"redis_url", "ledger_url"} & set(metafunc.fixturenames) - named
    if needs == {"redis_url", "ledger_url"}:
        metafunc.parametrize(("redis_url", "ledger_url"), STORE_PAIRS, indirect=True)
    elif needs == {"redis_url"}:
        metafunc.parametrize("redis_url", REDIS_TARGETS, indirect=True)
    elif needs == {"ledger_url"}:
        metafunc.parametrize("ledger_url", LEDGER_TARGETS, indirect=True)


def _names(argnames: str | Sequence[str]) -> list[str]:
    if isinstance(argnames, str):
        return [name.strip() for name in argnames.split(",")]
    return list(argnames)


def missing_service(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (LIVEROOM_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def embedded_valkey() -> Iterator[EmbeddedValkey]:
    with tempfile.TemporaryDirectory(prefix="liveroom-valkey-") as data_dir:
        server = EmbeddedValkey(Path(data_dir), fsync="no")
        server.start()
        yield server
        server.stop()


@pytest.fixture
def redis_url(request: pytest.FixtureRequest) -> str:
    if request.param == "valkey":
        server: EmbeddedValkey = request.getfixturevalue("embedded_valkey")
        return server.url
    return service_redis_url(request.param)


def service_redis_url(target: str) -> str:
    """The URL of the standalone Redis ("redis") or the Redis Cluster ("cluster")."""
    variable = {"redis": "REDIS_URL", "cluster": "LIVEROOM_TEST_CLUSTER_URL"}[target]
    url = os.environ.get(variable)
    if not url:
        missing_service(f"{variable} is not set: no {target} to test against")
    assert url is not None
    return url


@pytest.fixture
def key_prefix() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis(redis_url: str, key_prefix: str) -> AsyncIterator[Redis]:
    client = connect(redis_url, timeout_s=10)
    yield client
    await delete_keys(client, key_prefix)  # this test's keys only: never a FLUSH
    await client.aclose()


def make_settings(key_prefix: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "ops_token": OPS_TOKEN,
        "secret": SECRET,
        "payment_secret": PAYMENT_SECRET,
        "logistics_secret": LOGISTICS_SECRET,
        "notify_secret": NOTIFY_SECRET,
        "clock": "simulated",
        "demo_login": True,
        "refund_sandbox": True,
        "key_prefix": key_prefix,
        # Tests play many viewers from one address, as the demo does (test_rate_limits.py
        # sets its own limits).
        "rate_limits": parse_rate_limits(DEMO_RATE_LIMITS),
        # CI's two loaded cores stall a Redis reply past the product's 1 s now and then, and
        # a late reply is a 503 (it is not sent again): tests that time Redis set their own.
        "redis_timeout_s": 3.0,
    }
    values.update(overrides)
    settings = Settings(**values)  # type: ignore[arg-type]
    settings.validate()
    return settings


async def stream_entries(
    client: Redis, prefix: str, campaign_id: str = "mid-autumn"
) -> list[tuple[str, dict[str, str]]]:
    """The campaign's order stream: each entry's id and fields as text."""
    entries = await client.xrange(f"{prefix}:{{{campaign_id}}}:stream") or []
    return [
        (text(entry_id or ""), {text(k): text(v) for k, v in (fields or {}).items()})
        for entry_id, fields in entries
    ]


async def stream_events(
    client: Redis, prefix: str, campaign_id: str = "mid-autumn"
) -> list[dict[str, str]]:
    return [fields for _, fields in await stream_entries(client, prefix, campaign_id)]


@pytest.fixture
async def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh ledger database: a SQLite file, or a PostgreSQL database of its own that is
    dropped afterwards (LIVEROOM_TEST_POSTGRES_URL names the server; CI sets it)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite3'}"
        return
    admin = os.environ.get("LIVEROOM_TEST_POSTGRES_URL")
    if not admin:
        missing_service("LIVEROOM_TEST_POSTGRES_URL is not set: no PostgreSQL to test against")
    assert admin is not None
    import asyncpg
    from sqlalchemy.engine import make_url

    name = f"lr_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        url = make_url(admin).set(drivername="postgresql+asyncpg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
