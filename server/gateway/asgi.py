"""The app factory uvicorn calls in each worker process, configured from the environment."""

from __future__ import annotations

from starlette.applications import Starlette

from server.errors import BadInput
from server.gateway.app import create_app
from server.settings import Settings


def create_from_env() -> Starlette:
    settings = Settings.from_env()
    if settings.redis_url is None:
        raise BadInput("must be set for a gateway worker (liveroom serve sets it)", "REDIS_URL")
    return create_app(settings, settings.redis_url, settle_heap=True)
