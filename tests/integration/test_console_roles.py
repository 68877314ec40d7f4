"""Who may do what in the console: every console route refuses a role without its
permission (403, nothing done), a form without its CSRF token is refused, and sessions end
when the account changes. Driven over HTTP with the cookies a browser keeps."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from server.console.routes import routes
from server.domain.roles import ROLES, allowed
from tests.campaigns import CANONICAL
from tests.integration.conftest import Serve
from tests.server_harness import LiveServer

PASSWORD = "a long enough password"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_IDS = {
    "{cid}": "mid-autumn",
    "{mode}": "direct",
    "{oid}": "mid-autumn.1",
    "{code}": "DABCDEFG",
    "{wid}": "w1",
    "{gid}": "g1",
    "{username}": "someone",
}


@contextlib.asynccontextmanager
async def signed_in(
    s: LiveServer, username: str, role: str
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser's cookie jar signed in as a new account of this role, and its CSRF token."""
    await s.app.state.gateway.accounts.add(username, username, role, PASSWORD)
    async with httpx.AsyncClient(base_url=s.base_url) as client:
        yield client, await _sign_in(client, username)


async def _sign_in(client: httpx.AsyncClient, username: str) -> str:
    page = await client.get("/console/login")
    token = _CSRF.search(page.text)
    assert token is not None
    answer = await client.post(
        "/console/login",
        data={"csrf": token[1], "username": username, "password": PASSWORD},
    )
    assert answer.status_code == 303, answer.text
    home = await client.get("/console/screens")
    found = _CSRF.search(home.text)
    assert found is not None
    return found[1]


def console_routes() -> list[tuple[str, str, Any]]:
    found = []
    for route in routes:
        permission = getattr(route.endpoint, "permission", None)
        if permission is None:  # the sign-in page itself
            continue
        path = route.path
        for name, value in _IDS.items():
            path = path.replace(name, value)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((method, path, permission))
    return found


@pytest.mark.parametrize("role", ROLES)
async def test_every_console_route_refuses_a_role_without_its_permission(
    serve_with_ledger: Serve, role: str
) -> None:
    async with serve_with_ledger(CANONICAL) as s:
        before = await s.stock()
        checked = 0
        async with signed_in(s, f"who.{role}", role) as (client, csrf):
            for method, path, permission in console_routes():
                if path == "/console/logout":
                    continue
                answer = await client.request(method, path, data={"csrf": csrf})
                if allowed(role, permission):  # let in, and the page does not break
                    assert answer.status_code != 403, (role, method, path, answer.text[:300])
                    assert answer.status_code < 500, (role, method, path, answer.text[:300])
                else:
                    assert answer.status_code == 403, (role, method, path, answer.status_code)
                    assert "没有权限" in answer.text, (path, role)
                checked += 1
        assert checked >= 40
        if role in ("screen", "finance"):  # nothing they may not do was done
            assert await s.stock() == before
            assert not s.app.state.gateway.runtime.live("mid-autumn").paused


async def test_a_screen_account_reaches_no_ops_action_and_finance_cannot_edit(
    serve_with_ledger: Serve,
) -> None:
    async with serve_with_ledger(CANONICAL) as s:
        gw = s.app.state.gateway
        async with signed_in(s, "wall", "screen") as (screen, csrf):
            pause = await screen.post(
                "/console/c/mid-autumn/desk/direct/pause", data={"csrf": csrf}
            )
            assert pause.status_code == 403
            assert (await screen.get("/console/orders")).status_code == 403
            assert (await screen.get("/console/screens")).status_code == 200
            assert not gw.runtime.live("mid-autumn").paused
        async with signed_in(s, "zhao", "finance") as (finance, csrf):
            edited = CANONICAL.replace('name = "中秋家宴"', 'name = "改过的"')
            answer = await finance.post(
                "/console/campaigns/publish",
                data={"csrf": csrf, "text": edited, "base_version": "1"},
            )
            assert answer.status_code == 403
            assert (await finance.get("/console/c/mid-autumn/edit")).status_code == 403
            assert (await finance.get("/console/finance")).status_code == 200
        assert gw.runtime.live("mid-autumn").version == 1
        assert gw.runtime.live("mid-autumn").campaign.name == "中秋家宴"


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    serve_with_ledger: Serve,
) -> None:
    async with serve_with_ledger(CANONICAL) as s:
        gw = s.app.state.gateway
        async with signed_in(s, "li.yun", "operator") as (client, csrf):
            for sent in ({}, {"csrf": "forged"}):
                answer = await client.post("/console/c/mid-autumn/desk/direct/pause", data=sent)
                assert answer.status_code == 403
                assert "页面已过期" in answer.text
            assert not gw.runtime.live("mid-autumn").paused
            answer = await client.post(
                "/console/c/mid-autumn/desk/direct/pause", data={"csrf": csrf}
            )
            assert answer.status_code == 303
            assert gw.runtime.live("mid-autumn").paused == frozenset({"direct"})


async def test_a_changed_account_is_signed_out_everywhere(serve_with_ledger: Serve) -> None:
    async with serve_with_ledger(CANONICAL) as s:
        gw = s.app.state.gateway
        async with (
            signed_in(s, "boss", "admin") as (admin, admin_csrf),
            signed_in(s, "temp", "operator") as (worker, _),
        ):
            assert (await worker.get("/console/orders")).status_code == 200
            answer = await admin.post(
                "/console/users/temp", data={"csrf": admin_csrf, "change": "disable"}
            )
            assert answer.status_code == 303
            assert (await worker.get("/console/orders")).status_code == 303  # to sign in
            account = await gw.accounts.get("temp")
            assert account is not None and account.disabled
