"""Secrets made here: fresh ones for `liveroom secrets`, and the demo's own, generated for
each data directory on its first run and kept there (`secrets.env`, mode 0600), so a demo
never runs on values anyone else knows and the tools run beside it find them."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

NAMES = (
    "LIVEROOM_OPS_TOKEN",
    "LIVEROOM_SECRET",
    "LIVEROOM_PAYMENT_SECRET",
    "LIVEROOM_LOGISTICS_SECRET",
    "LIVEROOM_NOTIFY_SECRET",
)
# The demo console's `admin` password: made with the demo's data, printed when it starts.
ADMIN_PASSWORD = "LIVEROOM_DEMO_ADMIN_PASSWORD"
FILE = "secrets.env"


def fresh() -> dict[str, str]:
    """A new value for every secret: 32 random bytes each, URL-safe."""
    return {name: secrets.token_urlsafe(32) for name in NAMES}


def as_env(values: Mapping[str, str]) -> str:
    return "".join(f"{name}={value}\n" for name, value in values.items())


def private_dir(path: Path) -> Path:
    """A directory only this user may enter (the demo's data: secrets, Valkey's files)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Write a file readable by this user only, never visible with wider rights."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    path.chmod(0o600)


def load(data_dir: Path) -> dict[str, str] | None:
    """The demo's secrets kept in data_dir, if it has run there (all of them)."""
    found = _kept(data_dir)
    return found if set(found) == {*NAMES, ADMIN_PASSWORD} else None


def _kept(data_dir: Path) -> dict[str, str]:
    path = data_dir / FILE
    if not path.exists():
        return {}
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, _, value = line.partition("=")
        if name in (*NAMES, ADMIN_PASSWORD) and value:
            found[name] = value
    return found


def for_demo(data_dir: Path) -> dict[str, str]:
    """The demo's secrets for data_dir: those kept there, any missing one (a data directory
    from before the console had no admin password) made fresh and kept now."""
    kept = _kept(data_dir)
    made = {**fresh(), ADMIN_PASSWORD: secrets.token_urlsafe(12), **kept}
    if made != kept:
        write_private(private_dir(data_dir) / FILE, as_env(made))
    return made
