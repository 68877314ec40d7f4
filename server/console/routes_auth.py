"""Signing in to the console and out of it.

The sign-in form carries its own CSRF token (a cookie and a hidden field that must match),
so no other site can sign an operator in as someone else. The session cookie is HttpOnly
and SameSite=Strict, Secure when the console is reached over HTTPS, and scoped to /console.
"""

from __future__ import annotations

import hmac
import logging
import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.console.guard import Visit, page, read_form, see_other
from server.console.sessions import COOKIE, LIFETIME_S
from server.errors import LiveroomError
from server.gateway.context import gateway
from server.gateway.order_lane import client_address
from server.i18n import t
from server.ops.audit import Actor
from server.pages.templates import templates

log = logging.getLogger("liveroom.console")

LOGIN_COOKIE = "lr_console_login"


async def sign_in_page(request: Request) -> Response:
    return _form(request, error="", username="")


async def sign_in(request: Request) -> Response:
    gw = gateway(request)
    form = await read_form(request, 8 * 1024)
    username = str(form.get("username") or "").strip().lower()[:32]
    given = str(form.get("csrf") or "")
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return _form(request, error=t("console.csrf_refused"), username=username, status=403)
    try:
        gw.rate_limits.check("console_login", None, client_address(request.scope))
        account = await gw.accounts.sign_in(username, str(form.get("password") or "")[:200])
    except LiveroomError as exc:
        log.info("console sign-in refused (%s)", exc.code)  # never the name or password
        return _form(request, error=t(f"errors.{exc.code}"), username=username, status=exc.status)
    cookie, _ = await gw.sessions.open(account.username, account.display_name, account.role)
    await gw.audit.record(
        Actor(account.username, account.role), "console.sign_in", account.username
    )
    response = RedirectResponse(_next(request), status_code=303)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=LIFETIME_S,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


@page("screen.watch")  # every role may sign out
async def sign_out(visit: Visit) -> Response:
    await visit.gw.sessions.close(visit.request.cookies.get(COOKIE))
    response = see_other("/console/login", None)
    response.delete_cookie(COOKIE, path="/console")
    return response


def _form(request: Request, *, error: str, username: str, status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = templates().TemplateResponse(
        request,
        "console/login.html",
        {"csrf": token, "error": error, "username": username, "next": _next(request)},
        status_code=status,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def _next(request: Request) -> str:
    """Where to go after signing in: a console page, never another site."""
    target = request.query_params.get("next", "")
    if target.startswith("/console/") and "//" not in target and "\\" not in target:
        return target
    return "/console/"


routes = [
    Route("/console/login", sign_in_page, methods=["GET"]),
    Route("/console/login", sign_in, methods=["POST"]),
    Route("/console/logout", sign_out, methods=["POST"]),
]
