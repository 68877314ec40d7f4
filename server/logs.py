"""One logging configuration for every process: named loggers under `liveroom`."""

from __future__ import annotations

import logging.config

LOGGING_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"},
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "loggers": {
        "liveroom": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        # One line per request would cost more than the order itself during a spike. No
        # handler at all: uvicorn then skips even formatting the line's arguments.
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}


def configure() -> None:
    logging.config.dictConfig(LOGGING_CONFIG)
