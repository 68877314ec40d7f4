"""One error hierarchy; the gateway maps it to HTTP statuses at the edge only."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldProblem:
    """One bad input: the field's path (None: the input as a whole) and why, in English for
    the API; `code` and `params` let a page word it in Chinese (the catalogue's
    [campaign_problems], pydantic's error types among them)."""

    field: str | None
    message: str
    code: str = ""
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)


class LiveroomError(Exception):
    """Base of every error the system reports to a caller."""

    status = 500
    code = "internal"
    headers: Mapping[str, str] = {}  # extra response headers (read-only)

    def __init__(self, message: str, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class BadInput(LiveroomError):
    status = 422
    code = "invalid"


class InvalidCampaign(BadInput):
    """A campaign file with one or more problems, each named by its path."""

    code = "invalid_campaign"

    def __init__(self, problems: list[FieldProblem]) -> None:
        first = problems[0]
        summary = "; ".join(f"{p.field or '(file)'}: {p.message}" for p in problems)
        super().__init__(summary, first.field)
        self.problems = problems


class InvalidRows(BadInput):
    """An uploaded file (CSV) with bad rows: nothing of it was applied; every row named."""

    code = "invalid_rows"

    def __init__(self, problems: list[tuple[int, FieldProblem]]) -> None:
        line, first = problems[0]
        super().__init__(f"line {line}, {first.field}: {first.message}", first.field)
        self.problems = problems


class Unauthorized(LiveroomError):
    status = 401
    code = "unauthorized"


class Forbidden(LiveroomError):
    status = 403
    code = "forbidden"


class NotFound(LiveroomError):
    status = 404
    code = "not_found"


class Conflict(LiveroomError):
    """The request is well formed but the state forbids it: sold_out, limit_reached, ..."""

    status = 409
    code = "conflict"


class Unavailable(LiveroomError):
    """A backing service is down; nothing was changed."""

    status = 503
    code = "unavailable"
