"""The served /openapi.json is the contract: every route is in it, and schemathesis,
generating requests from it for every operation (as a viewer and as ops, a bounded number
each), finds no 5xx and no answer that breaks the document (status, content type, schema).

Run on the embedded Valkey and a SQLite ledger only: what is checked is the gateway's
contract, the same whatever serves Redis; the rest of the suite covers the servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import hypothesis
import orjson
import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import Mount, Route

from server.demo_reset import delete_keys
from server.embedded import EmbeddedValkey
from server.gateway.openapi import openapi_document
from server.payments.signature import sign
from tests.campaigns import CANONICAL
from tests.conftest import OPS_TOKEN, PAYMENT_SECRET
from tests.integration.conftest import GROUP_OPEN, _serve_factory
from tests.integration.test_after_sale_api import photo_with_gps
from tests.server_harness import LiveServer

EXAMPLES = int(os.environ.get("LIVEROOM_SCHEMATHESIS_EXAMPLES", "20"))


@schemathesis.serializer("application/toml", "text/csv")
def _text(context: Any, value: Any) -> bytes:
    """Campaign files and tracking lists are text: a generated one goes as its UTF-8."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
async def api(
    embedded_valkey: EmbeddedValkey, key_prefix: str, tmp_path: Path
) -> AsyncIterator[LiveServer]:
    serve = _serve_factory(
        embedded_valkey.url,
        key_prefix,
        tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite3'}",
        embedded_worker=True,
    )
    async with serve(clock_start=GROUP_OPEN) as s:
        yield s
    from redis.asyncio import Redis

    client = Redis.from_url(embedded_valkey.url)
    await delete_keys(client, key_prefix)
    await client.aclose()


async def test_every_route_is_in_the_document(api: LiveServer) -> None:
    documented = {
        (method.upper(), path)
        for path, ops in openapi_document()["paths"].items()
        for method in ops
    }
    served = set()
    for prefix, route in _routes(api.app.routes):
        if prefix == "/api/v1" or route.path in ("/healthz", "/readyz", "/metrics"):
            for method in (route.methods or set()) - {"HEAD"}:
                served.add((method, prefix + route.path))
    assert served == documented


def _routes(routes: list[Any], prefix: str = "") -> list[tuple[str, Route]]:
    found: list[tuple[str, Route]] = []
    for route in routes:
        if isinstance(route, Mount) and route.path == "/api/v1":
            found += _routes(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            found.append((prefix, route))
    return found


@pytest.mark.timeout(60 + EXAMPLES * 6)
@pytest.mark.parametrize("role", ["viewer", "ops"])
async def test_the_api_keeps_its_contract(api: LiveServer, role: str) -> None:
    viewer = await api.login("fuzz-viewer")
    seeds = await _seed(api, viewer)
    auth = viewer if role == "viewer" else {"Authorization": f"Bearer {OPS_TOKEN}"}
    document = _with_examples(openapi_document(), seeds)
    failures = await asyncio.to_thread(_run_schemathesis, document, api.base_url, auth)
    assert not failures, "\n\n".join(failures.values())


async def _seed(s: LiveServer, viewer: dict[str, str]) -> dict[str, str]:
    """Real ids for the path parameters, so generated requests reach past the 404s."""
    order = await s.order(viewer, mode="group", qty=1, open_group=True)
    payment = await s.open_payment(viewer, order["order_id"])
    code = await s.become_distributor(viewer)
    minted = await s.client.post(
        "/api/v1/ops/screen-tokens", json={"campaign_id": "mid-autumn"}, headers=s.ops
    )
    address = await s.address(viewer)
    poster = await s.client.post(
        "/api/v1/ops/materials",
        data={"campaign_id": "mid-autumn", "kind": "poster", "title": "海报"},
        files=[("image", ("poster.jpg", photo_with_gps(), "image/jpeg"))],
        headers=s.ops,
    )
    return {
        "cid": "mid-autumn",
        "region": "440300",
        "oid": order["order_id"],
        "pid": payment["payment_id"],
        "code": order["group_code"],
        "link": code,
        "uid": "fuzz-viewer",
        "id": minted.json()["id"],
        "mode": "group",
        "wid": "W" + "0" * 16,  # no withdrawal yet: its calls answer 404
        "aid": address,
        "rid": "S" + "0" * 16,  # no after-sale request: its calls answer 404
        "name": "1.jpg",
        "warehouse": "shanghai",
        "mid": poster.json()["material_id"],
        "image": "1.thumb.jpg",
    }


def _with_examples(document: dict[str, Any], seeds: dict[str, str]) -> dict[str, Any]:
    for path, operations in document["paths"].items():
        for operation in operations.values():
            toml = operation.get("requestBody", {}).get("content", {}).get("application/toml")
            if toml is not None:
                toml["schema"]["examples"] = [CANONICAL]
            for param in operation["parameters"]:
                if param["in"] == "path":
                    name = param["name"]
                    seed = seeds[name]
                    if name == "code" and "/distributors/" in path:
                        seed = seeds["link"]
                    if name == "code" and "/warehouses/" in path:
                        seed = seeds["warehouse"]
                    param["schema"]["examples"] = [seed]
    return document


def _run_schemathesis(
    document: dict[str, Any], base_url: str, auth: dict[str, str]
) -> dict[str, str]:
    """Every operation, EXAMPLES generated requests each; its first failure, described."""
    schema = schemathesis.openapi.from_dict(document)
    failures: dict[str, str] = {}
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # (an Err has no ok(): bad document)
        run = _runner(operation, base_url, auth, session, failures)
        with contextlib.suppress(hypothesis.errors.Unsatisfiable):
            run()
    return failures


def _runner(
    operation: Any,
    base_url: str,
    auth: dict[str, str],
    session: requests.Session,
    failures: dict[str, str],
) -> Callable[[], None]:
    signed = operation.path == "/api/v1/payments/webhook"

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=os.environ.get("LIVEROOM_SCHEMATHESIS_RANDOM") != "1",
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=operation.as_strategy())
    def run(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url=base_url, headers=dict(auth))
        if signed and "json" in kwargs:  # the provider signs what it sends
            body = orjson.dumps(kwargs.pop("json"))
            kwargs["data"] = body
            kwargs["headers"] = {**kwargs["headers"], "X-Signature": sign(PAYMENT_SECRET, body)}
            kwargs["headers"]["Content-Type"] = "application/json"
        response = session.request(**kwargs, timeout=30)
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # every failure collected, then reported
            label = f"{case.method} {operation.path}"
            failures.setdefault(label, f"{label}: {exc}\n{case.as_curl_command()}")

    return run
