"""Request bodies in, JSON out, and every error in the one shape of API.md."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from redis.exceptions import (
    BusyLoadingError,
    ClusterError,
    RedisClusterUnreachableError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from server.errors import BadInput, InvalidCampaign, InvalidRows, LiveroomError
from server.gateway.bodies import MAX_BODY_BYTES, BodyGate, ClientLeft, read_limited
from server.store.replicated import NotReplicated
from server.telemetry import CLIENTS_LEFT_MID_BODY, REDIS_ERRORS

log = logging.getLogger("liveroom.gateway")

Model = TypeVar("Model", bound=BaseModel)


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_body(code: str, message: str, field: str | None) -> dict[str, Any]:
    return {"error": code, "message": message, "field": field}


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request's body, read once with its limit holding while it streams (bodies.py)."""
    cached: bytes | None = getattr(request.state, "body", None)
    if cached is None:
        gate = request.app.state.gateway.bodies
        assert isinstance(gate, BodyGate)
        cached = await read_limited(request.receive, request.headers, gate, limit)
        request.state.body = cached
    return cached


async def read_json(request: Request, model: type[Model]) -> Model:
    """Parse and validate a JSON body; the first problem is reported with its field path."""
    return parse_json(await read_body(request), model)


def parse_json(body: bytes, model: type[Model]) -> Model:
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as exc:
        raise _bad_input(exc) from None


def parse_params(params: dict[str, Any], model: type[Model]) -> Model:
    """Validate query parameters; they are text, so numbers are parsed, not required as JSON."""
    try:
        return model.model_validate(params, strict=False)
    except ValidationError as exc:
        raise _bad_input(exc) from None


def _bad_input(exc: ValidationError) -> BadInput:
    first = exc.errors()[0]
    if first["type"] == "json_invalid":
        error = BadInput("body is not valid JSON", None, "bad_json")
        error.status = 400
        return error
    path = ".".join(str(part) for part in first["loc"]) or None
    return BadInput(f"{path or 'body'}: {first['msg']}", path)


def error_response(exc: LiveroomError) -> JSONResponse:
    body = error_body(exc.code, exc.message, exc.field)
    if isinstance(exc, InvalidCampaign):
        body["problems"] = [{"field": p.field, "message": p.message} for p in exc.problems]
    if isinstance(exc, InvalidRows):
        body["problems"] = [
            {"line": line, "field": p.field, "message": p.message, "error": p.code}
            for line, p in exc.problems
        ]
    return JSONResponse(body, status_code=exc.status, headers=dict(exc.headers) or None)


async def on_liveroom_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LiveroomError)
    return error_response(exc)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail), None), status_code=exc.status_code)


def _redis_503(request: Request, exc: Exception, code: str, message: str) -> Response:
    """Redis could not give the request what it needed: logged, counted, said how."""
    log.warning("redis %s on %s %s: %s", code, request.method, request.url.path, exc)
    REDIS_ERRORS.labels(type(exc).__name__).inc()
    return JSONResponse(error_body(code, message, None), status_code=503)


async def on_redis_down(request: Request, exc: Exception) -> Response:
    message = "the stock service is unavailable; nothing was changed, retry with the same key"
    return _redis_503(request, exc, "unavailable", message)


async def on_redis_late(request: Request, exc: Exception) -> Response:
    """No answer in time: the server may still carry the request out (the client does not
    send it again, server/store/connection.py), so this 503 cannot say nothing changed."""
    message = (
        "the stock service did not answer in time; the request may still have been carried "
        "out: retry with the same Idempotency-Key, or read the result back"
    )
    return _redis_503(request, exc, "outcome_unknown", message)


async def on_not_replicated(request: Request, exc: Exception) -> Response:
    message = "the order is not confirmed by a replica yet; retry with the same Idempotency-Key"
    return _redis_503(request, exc, "not_replicated", message)


async def on_client_left(request: Request, exc: Exception) -> Response:
    """Nobody is left to read an answer: one quiet line, counted, never a traceback."""
    log.debug("client left mid-body on %s %s", request.method, request.url.path)
    CLIENTS_LEFT_MID_BODY.inc()
    return Response(status_code=400)


async def on_ledger_down(request: Request, exc: Exception) -> Response:
    log.warning("ledger unavailable on %s %s: %s", request.method, request.url.path, exc)
    message = "the ledger is not available; nothing was changed, retry"
    return JSONResponse(error_body("unavailable", message, None), status_code=503)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse(error_body("internal", "internal error", None), status_code=500)


async def answer_error(request: Request, exc: Exception) -> Response:
    """The app's answer to exc, for code that runs outside the router (the order lane)."""
    for kind in type(exc).__mro__:
        handler = EXCEPTION_HANDLERS.get(kind)
        if handler is not None:
            return await handler(request, exc)
    raise exc


EXCEPTION_HANDLERS: dict[type[Exception], Callable[[Request, Exception], Awaitable[Response]]] = {
    LiveroomError: on_liveroom_error,
    ClientLeft: on_client_left,
    HTTPException: on_http_error,
    RedisConnectionError: on_redis_down,
    RedisTimeoutError: on_redis_late,
    BusyLoadingError: on_redis_down,
    # a cluster between a primary's death and its replica's promotion
    ClusterError: on_redis_down,
    TryAgainError: on_redis_down,
    SlotNotCoveredError: on_redis_down,
    RedisClusterUnreachableError: on_redis_down,
    NotReplicated: on_not_replicated,
    OperationalError: on_ledger_down,  # SQL: the database is down or locked
    DBAPIError: on_ledger_down,
    Exception: on_unexpected,
}
