"""Multipart forms with files (after-sale photos, 晒单 images, ops' posters): read within
their limit, a few assembled at once per process, parsed by Starlette, closed after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from server.errors import BadInput
from server.gateway.bodies import BodyGate
from server.gateway.http import read_body

# Upload bodies assembled at once per process: 4, each within its route's limit (the
# gateway's gate for every body allows far more, of far smaller ones).
UPLOADS = BodyGate(max_assembling=4)


@asynccontextmanager
async def upload_form(
    request: Request, max_bytes: int, max_files: int, max_fields: int = 10
) -> AsyncIterator[FormData]:
    UPLOADS.enter()  # 503 busy past the cap
    try:
        request._body = await read_body(request, max_bytes)  # Starlette parses it from here
        try:
            form = await request.form(max_files=max_files, max_fields=max_fields)
        except (HTTPException, MultiPartException) as exc:  # Starlette's words for a bad form
            raise BadInput(f"not a form this takes: {exc}", None, "bad_form") from None
        try:
            yield form
        finally:
            await form.close()
    finally:
        UPLOADS.leave()


async def files_of(form: FormData, name: str) -> list[bytes]:
    """The files sent under `name`, in order (a text value under it is ignored)."""
    return [await f.read() for f in form.getlist(name) if isinstance(f, UploadFile)]
