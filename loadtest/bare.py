"""The benchmark's yardstick: a bare Starlette endpoint, served like a gateway.

`POST /orders` reads the JSON body and the bearer token and answers 201 with a small JSON
document; nothing else. `loadtest/bench.py` measures the real order endpoint against it,
under the same uvicorn settings (`server.cli.UVICORN_OPTIONS`), garbage-collector settings
(`server.heap`) and worker counts.

    python -m loadtest.bare --port 8100 --workers 1
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.cli import UVICORN_OPTIONS
from server.heap import settle_after_start_up


async def order(request: Request) -> Response:
    body = orjson.loads(await request.body())
    token = request.headers.get("authorization", "")
    answer = {"order_id": "O1", "mode": body.get("mode"), "user": token[-8:], "status": "ok"}
    return Response(orjson.dumps(answer), status_code=201, media_type="application/json")


async def ready(request: Request) -> Response:
    return Response(b"ok")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    settle_after_start_up()  # the gateway's garbage-collector settings, for a fair comparison
    yield


app = Starlette(
    routes=[Route("/orders", order, methods=["POST"]), Route("/readyz", ready)],
    lifespan=lifespan,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, choices=range(1, 9), default=1)
    args = parser.parse_args()
    uvicorn.run(
        "loadtest.bare:app",
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        **UVICORN_OPTIONS,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
