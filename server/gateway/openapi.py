"""The served /openapi.json, built from the same models that validate the wire."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from server.gateway.schemas import (
    ClockIn,
    ClockOut,
    ErrorOut,
    OrderIn,
    OrderOut,
    SessionIn,
    SessionOut,
    StockOut,
)

_REF = "#/components/schemas/{model}"
_KEY_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    auth: str | None = None
    body: Any = None
    response: Any = None
    status: int = 200
    errors: tuple[int, ...] = ()
    idempotent_key: bool = False


OPERATIONS = [
    Operation(
        "post",
        "/api/v1/sessions",
        "Demo/test login: a viewer token for a user",
        body=SessionIn,
        response=SessionOut,
        status=201,
        errors=(400, 403, 422),
        idempotent_key=True,
    ),
    Operation(
        "get",
        "/api/v1/campaigns/{cid}",
        "The campaign as configured, phase and prices",
        errors=(404,),
    ),
    Operation(
        "get",
        "/api/v1/campaigns/{cid}/stock",
        "Stock in total and per pool",
        response=StockOut,
        errors=(404, 503),
    ),
    Operation(
        "post",
        "/api/v1/campaigns/{cid}/orders",
        "Reserve stock and create an order awaiting payment",
        auth="viewer",
        body=OrderIn,
        response=OrderOut,
        status=201,
        errors=(400, 401, 404, 409, 422, 503),
        idempotent_key=True,
    ),
    Operation(
        "put",
        "/api/v1/ops/campaigns/{cid}",
        "Upload a campaign file (TOML); 422 lists every bad field by its path",
        auth="ops",
        body="toml",
        errors=(401, 403, 409, 422),
    ),
    Operation(
        "post",
        "/api/v1/ops/clock",
        "Move campaign time (simulated clock only)",
        auth="ops",
        body=ClockIn,
        response=ClockOut,
        errors=(401, 403, 409, 422),
        idempotent_key=True,
    ),
    Operation("get", "/api/v1/clock", "Campaign time now", response=ClockOut),
    Operation("get", "/healthz", "The process answers"),
    Operation("get", "/readyz", "Redis answers", errors=(503,)),
]


def openapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": _schema(ErrorOut, schemas={})}
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "liveroom",
            "version": "1",
            "description": "Live-room control system: the client contract of API.md.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "viewer": {"type": "http", "scheme": "bearer"},
                "ops": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def _operation(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {"summary": op.summary, "responses": {}}
    params = [{"name": "cid", "in": "path", "required": True, "schema": {"type": "string"}}]
    spec["parameters"] = params if "{cid}" in op.path else []
    if op.idempotent_key:
        spec["parameters"].append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": _KEY_SCHEMA,
            }
        )
    if op.auth:
        spec["security"] = [{op.auth: []}]
    if op.body == "toml":
        spec["requestBody"] = {"content": {"application/toml": {"schema": {"type": "string"}}}}
    elif op.body is not None:
        spec["requestBody"] = {
            "content": {"application/json": {"schema": _schema(op.body, schemas)}}
        }
    ok: dict[str, Any] = {"description": "success"}
    if op.response is not None:
        ok["content"] = {"application/json": {"schema": _schema(op.response, schemas)}}
    spec["responses"][str(op.status)] = ok
    for status in op.errors:
        spec["responses"][str(status)] = {
            "description": "error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return spec


def _schema(model: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    schema = TypeAdapter(model).json_schema(ref_template=_REF)
    schemas.update(schema.pop("$defs", {}))
    name = getattr(model, "__name__", "Model")
    schemas[name] = schema
    return {"$ref": _REF.format(model=name)}
