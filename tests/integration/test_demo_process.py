"""`liveroom demo` as a process: SIGTERM (what process managers and the benchmarks send)
shuts it down gracefully and stops the embedded Valkey it started, leaving nothing behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from server.embedded import running_url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def test_sigterm_stops_the_demo_and_its_embedded_valkey(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "REDIS_URL": "", "DATABASE_URL": ""}
    command = [sys.executable, "-m", "server", "demo", "--no-sim", "--port", str(port)]
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        demo = subprocess.Popen(
            [*command, "--data-dir", str(tmp_path)], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert demo.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the demo never became ready"
                time.sleep(0.2)
        valkey = running_url(tmp_path)
        assert valkey is not None
        host, valkey_port = valkey.removeprefix("redis://").split("/")[0].split(":")
        assert _answers(host, int(valkey_port))

        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=60) == 128 + signal.SIGTERM
        assert running_url(tmp_path) is None
        assert not _answers(host, int(valkey_port)), "the embedded Valkey outlived the demo"
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
