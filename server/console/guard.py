"""Every console page goes through `page(permission)`: a signed-in session (else the sign-in
page), the permission its role must hold (else 403), the CSRF token on every form and htmx
request that changes anything (else 403, nothing done), the form read with a limit, and a
refusal rendered as a page in Chinese rather than the API's JSON."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote as url_quote

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server.console.sessions import COOKIE, Session
from server.domain.roles import Permission, allowed
from server.errors import LiveroomError
from server.gateway.bodies import declared_length
from server.gateway.context import Gateway, gateway
from server.gateway.http import read_body
from server.i18n import has, t
from server.ops.audit import Actor
from server.pages.templates import templates

log = logging.getLogger("liveroom.console")

SAFE = frozenset({"GET", "HEAD"})
MAX_FORM_BYTES = 512 * 1024  # the largest form: a campaign, or an imported file


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    permission: Permission


NAV = (
    NavItem("/console/", "console.nav_campaigns", "campaign.view"),
    NavItem("/console/orders", "console.nav_orders", "orders.view"),
    NavItem("/console/warehouses", "console.nav_warehouses", "warehouses.view"),
    NavItem("/console/after-sales", "console.nav_after_sales", "orders.view"),
    NavItem("/console/notices", "console.nav_notices", "orders.view"),
    NavItem("/console/materials", "console.nav_materials", "campaign.view"),
    NavItem("/console/distributors", "console.nav_distributors", "distributors.view"),
    NavItem("/console/members", "console.nav_members", "members.edit"),
    NavItem("/console/attribution", "console.nav_attribution", "campaign.view"),
    NavItem("/console/finance", "console.nav_finance", "finance.view"),
    NavItem("/console/screens", "console.nav_screens", "screen.watch"),
    NavItem("/console/audit", "console.nav_audit", "audit.view"),
    NavItem("/console/users", "console.nav_users", "users.manage"),
)


@dataclass
class Visit:
    """One signed-in person's request: who, and the form they sent (if any)."""

    gw: Gateway
    request: Request
    session: Session
    form: FormData = field(default_factory=FormData)

    @property
    def actor(self) -> Actor:
        return Actor(self.session.username, self.session.role)

    def can(self, permission: Permission) -> bool:
        return allowed(self.session.role, permission)

    def text(self, name: str, limit: int = 200) -> str:
        value = self.form.get(name)
        return value.strip()[:limit] if isinstance(value, str) else ""

    def values(self) -> dict[str, list[str]]:
        """The form as every value of every name (a multi-select posts several)."""
        found: dict[str, list[str]] = {}
        for name, value in self.form.multi_items():
            if isinstance(value, str):
                found.setdefault(name, []).append(value)
        return found

    def upload(self, name: str) -> UploadFile | None:
        value = self.form.get(name)
        return value if isinstance(value, UploadFile) else None

    def zone(self, campaign_id: str | None = None) -> str:
        """The zone the console shows times in: that campaign's, else the first running."""
        campaigns = self.gw.runtime.campaigns
        live = campaigns.get(campaign_id or "") or next(iter(campaigns.values()), None)
        return live.campaign.timezone if live else "UTC"

    @property
    def htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"


Handler = Callable[[Visit], Awaitable[Response]]


def page(
    permission: Permission, form_bytes: int = MAX_FORM_BYTES
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if request.method not in SAFE:  # a body too large is refused before anything else
                declared_length(request.headers, form_bytes)
            gw = gateway(request)
            session = await gw.sessions.get(request.cookies.get(COOKIE))
            if session is None:
                return _to_sign_in(request)
            visit = Visit(gw, request, session)
            if not visit.can(permission):
                return refusal(visit, "forbidden", 403)
            if request.method not in SAFE:
                visit.form = await read_form(request, form_bytes)
                given = visit.text("csrf", 100) or request.headers.get("x-csrf-token")
                if not session.csrf_ok(given):
                    log.warning("console: %s sent a form without its CSRF token", session.username)
                    return refusal(visit, "csrf", 403)
            try:
                return await handler(visit)
            except LiveroomError as exc:
                return refusal(visit, exc.code, exc.status, exc.field)
            finally:
                await visit.form.close()  # an uploaded file's temporary file

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        endpoint.permission = permission  # type: ignore[attr-defined]  # what a role needs here
        return endpoint

    return wrap


async def read_form(request: Request, limit: int = MAX_FORM_BYTES) -> FormData:
    """A posted form (urlencoded, or multipart with one file), read within `limit` bytes."""
    request._body = await read_body(request, limit)  # Starlette's parser reads it from here
    return await request.form(max_files=1, max_fields=2000, max_part_size=limit)


def render(visit: Visit, template: str, status: int = 200, **context: Any) -> Response:
    done = visit.request.query_params.get("done", "")
    return templates().TemplateResponse(
        visit.request,
        template,
        {
            "visit": visit,
            "csrf": visit.session.csrf,
            "nav": [item for item in NAV if visit.can(item.permission)],
            "done": t(f"console_done.{done}") if done and has(f"console_done.{done}") else "",
            **context,
        },
        status_code=status,
    )


def refusal(visit: Visit, code: str, status: int, field: str | None = None) -> Response:
    """Why nothing was done, in the operator's words: a page, or a fragment for htmx."""
    message = t(f"errors.{code}") if has(f"errors.{code}") else t("errors.invalid")
    if code == "csrf":
        message = t("console.csrf_refused")
    template = "console/_refusal.html" if visit.htmx else "console/refusal.html"
    response = render(visit, template, status, message=message, field=field)
    if visit.htmx:  # htmx swaps only 2xx answers: show it in the page's message area
        response.headers["HX-Retarget"] = "#messages"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def see_other(path: str, done: str | None = None) -> RedirectResponse:
    joint = "&" if "?" in path else "?"
    return RedirectResponse(path + (f"{joint}done={done}" if done else ""), status_code=303)


def _to_sign_in(request: Request) -> Response:
    target = "/console/login?next=" + url_quote(request.url.path, safe="/")
    if request.headers.get("hx-request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)
