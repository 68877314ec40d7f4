"""A fresh demo: the previous broadcast's state forgotten before the next one plays, so a
second `liveroom demo` plays the whole campaign again. Only the demo's own state goes: the
embedded Valkey's data files and the embedded SQLite ledger (the data directory is this
process's, its lock held), or on a Redis named by REDIS_URL the keys under our prefix.
The demo's secrets stay, so its console password and the tools beside it keep working."""

from __future__ import annotations

import shutil
from pathlib import Path

from redis.asyncio import Redis

from server.errors import BadInput
from server.store.connection import connect

VALKEY_STATE = ("appendonlydir", "dump.rdb")
LEDGER_FILES = ("ledger.sqlite3", "ledger.sqlite3-wal", "ledger.sqlite3-shm")


def forget_valkey_files(valkey_dir: Path) -> None:
    """Call with the directory's lock held and no server running on it."""
    for name in VALKEY_STATE:
        path = valkey_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def forget_ledger(data_dir: Path, database_url: str | None) -> None:
    if database_url:
        raise BadInput(
            "a fresh demo forgets its ledger, and this one is DATABASE_URL's: "
            "unset DATABASE_URL, or continue the previous broadcast with --keep",
            "DATABASE_URL",
        )
    for name in LEDGER_FILES:
        (data_dir / name).unlink(missing_ok=True)


async def forget_keys(redis_url: str, prefix: str) -> int:
    """Every key under our prefix on a Redis others may share (never a FLUSH)."""
    client = connect(redis_url, timeout_s=10)
    try:
        return await delete_keys(client, prefix)
    finally:
        await client.aclose()


async def delete_keys(client: Redis, prefix: str) -> int:
    """Every key under the prefix (on every node of a cluster), in batches."""
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
    for start in range(0, len(keys), 500):
        await client.delete(*keys[start : start + 500])
    return len(keys)
