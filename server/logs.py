"""One logging configuration for every process: named loggers under `liveroom`."""

from __future__ import annotations

import logging
import logging.config


class NoWebsocketHandshakeLines(logging.Filter):
    """Drops uvicorn's line per websocket handshake ('<client> - "WebSocket <path?query>"
    ...'): 10,000 of them when the viewers connect at 开抢, and the dashboard feed's query
    string carries the ops token, which must never reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith('%s - "WebSocket %s"')


LOGGING_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"},
    },
    "filters": {"no_websocket_handshakes": {"()": NoWebsocketHandshakeLines}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "loggers": {
        "liveroom": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"filters": ["no_websocket_handshakes"]},
        # One line per request would cost more than the order itself during a spike. No
        # handler at all: uvicorn then skips even formatting the line's arguments.
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}


def configure() -> None:
    logging.config.dictConfig(LOGGING_CONFIG)
