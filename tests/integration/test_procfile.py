"""The Procfile as a platform runs it (honcho, a Procfile runner): `web` and `worker` come
up from the repository with only the environment a deployment sets, an order placed
through `web` reaches the ledger through `worker`, and SIGTERM stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import sqlalchemy as sa
from redis.asyncio import Redis

from tests.campaigns import CANONICAL
from tests.conftest import OPS_TOKEN, PAYMENT_SECRET, SECRET
from tests.server_harness import free_port

ROOT = Path(__file__).resolve().parents[2]
HOST_SECRET = "the-host-platforms-signing-key-for-tests"


async def test_the_procfile_runs_web_and_worker_and_an_order_reaches_the_ledger(
    redis: Redis, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    """`redis` is here for its clean-up of this test's keys."""
    port = free_port()
    ledger = tmp_path / "ledger.sqlite3"
    # the real clock: a campaign whose direct sales are open now
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(
        CANONICAL.replace(
            "[direct]\n# Buying at the daily price, typically through a distributor's share link.\n"
            "opens_at = 2026-09-01T00:00:00+08:00\ncloses_at = 2026-09-16T00:00:00+08:00",
            "[direct]\nopens_at = 2026-09-01T00:00:00+08:00\ncloses_at = 2036-09-16T00:00:00+08:00",
        )
    )
    assert "2036" in campaign.read_text()
    env = {
        **os.environ,
        # a platform that installed the package has `liveroom` on PATH
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PORT": str(port),
        "WEB_WORKERS": "1",
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{ledger}",
        "LIVEROOM_KEY_PREFIX": key_prefix,
        "LIVEROOM_OPS_TOKEN": OPS_TOKEN,
        "LIVEROOM_SECRET": SECRET,
        "LIVEROOM_PAYMENT_SECRET": PAYMENT_SECRET,
        "LIVEROOM_HOST_JWT_SECRET": HOST_SECRET,  # viewers vouched for by the host platform
        "LIVEROOM_HOST_JWT_ISSUER": "host.example",
        "LIVEROOM_DATA_DIR": str(tmp_path),
        "LIVEROOM_CAMPAIGN": str(campaign),
    }
    log = (tmp_path / "honcho.log").open("wb")
    honcho = subprocess.Popen(
        [str(Path(sys.executable).parent / "honcho"), "start", "-f", "Procfile"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            deadline = time.monotonic() + 60
            while True:
                assert honcho.poll() is None, (tmp_path / "honcho.log").read_text()
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, (tmp_path / "honcho.log").read_text()
                time.sleep(0.3)
            now = int(time.time())
            claims = {"sub": "alice", "iss": "host.example", "aud": "liveroom"}
            assertion = jwt.encode({**claims, "iat": now, "exp": now + 600}, HOST_SECRET)
            answer = await client.post("/api/v1/sessions/host", json={"assertion": assertion})
            assert answer.status_code == 201, answer.text
            token = answer.json()
            placed = await client.post(
                "/api/v1/campaigns/mid-autumn/orders",
                json={"mode": "direct", "qty": 1},
                headers={"Authorization": f"Bearer {token['token']}"},
            )
            assert placed.status_code == 201, placed.text
        engine = sa.create_engine(f"sqlite:///{ledger}")
        deadline = time.monotonic() + 30
        while True:
            try:
                with engine.connect() as conn:
                    found = conn.execute(sa.text("SELECT order_id FROM orders")).all()
                if found:
                    break
            except sa.exc.OperationalError:
                pass  # the worker has not made the tables yet
            assert time.monotonic() < deadline, (tmp_path / "honcho.log").read_text()
            time.sleep(0.3)
        engine.dispose()
        assert [row[0] for row in found] == [placed.json()["order_id"]]
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGTERM)
        code = honcho.wait(timeout=60)
        log.close()  # the redis fixture deletes the keys under this test's prefix
    assert code in (0, 128 + signal.SIGTERM, -signal.SIGTERM), (tmp_path / "honcho.log").read_text()
