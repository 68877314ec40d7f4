"""The one logging configuration: uvicorn's startup lines are kept, its line per websocket
handshake (whose query string can carry the ops token) is not."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from server import logs


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def uvicorn_lines() -> Iterator[list[str]]:
    logs.configure()
    kept = _Kept()
    logging.getLogger("uvicorn").addHandler(kept)
    try:
        yield kept.lines
    finally:
        logging.getLogger("uvicorn").removeHandler(kept)


def test_websocket_handshake_lines_never_reach_a_log(uvicorn_lines: list[str]) -> None:
    error_log = logging.getLogger("uvicorn.error")
    path = "/ws/dashboard/mid-autumn?token=the-ops-token"
    # the three lines uvicorn's websocket implementations write per handshake
    error_log.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5000", path)
    error_log.info('%s - "WebSocket %s" 403', "127.0.0.1:5000", path)
    error_log.info('%s - "WebSocket %s" %d', "127.0.0.1:5000", path, 500)
    error_log.info("Uvicorn running on %s", "http://127.0.0.1:8000")
    assert uvicorn_lines == ["Uvicorn running on http://127.0.0.1:8000"]
    assert not any("the-ops-token" in line for line in uvicorn_lines)
