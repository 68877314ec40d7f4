"""A provider's key named by a file in the environment: read at start, or a clear error."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from server.errors import BadInput


def read_pem(env: Mapping[str, str], name: str) -> str:
    path = env.get(name, "")
    if not path:
        raise BadInput("must name a PEM file", name)
    try:
        return Path(path).read_text("utf-8")
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc}", name) from None
