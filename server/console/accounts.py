"""Ops accounts in the ledger database: who may sign in to the console, with which role.

Passwords are argon2 hashes (argon2-cffi). Five failed sign-ins in a row lock an account for
fifteen minutes; a success resets the count. An unknown name costs the same hashing as a
known one, so timing does not tell which names exist.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.roles import ROLES
from server.errors import BadInput, Conflict, Forbidden, Unauthorized
from server.ledger.schema import ops_users

USERNAME = re.compile(r"[a-z][a-z0-9_.-]{2,31}")
MIN_PASSWORD = 12
MAX_FAILED = 5
LOCK_MS = 15 * 60 * 1000
_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("not-a-password-anyone-has")


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    role: str
    disabled: bool = False
    locked_until_ms: int = 0


def check_new(username: str, display_name: str, role: str, password: str) -> None:
    if not USERNAME.fullmatch(username):
        raise BadInput("3-32 lower-case letters, digits, '_', '.' or '-'", "username")
    if not 1 <= len(display_name) <= 60:
        raise BadInput("1-60 characters", "display_name")
    if role not in ROLES:
        raise BadInput(f"one of {', '.join(ROLES)}", "role")
    check_password(password)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD or len(password) > 200:
        raise BadInput(f"{MIN_PASSWORD}-200 characters", "password", "password_too_short")


class Accounts:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, username: str, display_name: str, role: str, password: str) -> Account:
        check_new(username, display_name, role, password)
        now = _now_ms()
        row = {
            "username": username,
            "display_name": display_name,
            "role": role,
            "password_hash": _HASHER.hash(password),
            "created_at_ms": now,
            "updated_at_ms": now,
        }
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(ops_users).values(row))
        except IntegrityError:
            raise Conflict(
                "an account with this name exists", "username", "account_exists"
            ) from None
        return Account(username, display_name, role)

    async def sign_in(self, username: str, password: str) -> Account:
        """The account if the password is right; raises otherwise (and counts the failure)."""
        async with self._engine.begin() as conn:
            found = (
                await conn.execute(select(ops_users).where(ops_users.c.username == username))
            ).first()
            now = _now_ms()
            if found is None:
                _verify(_DUMMY, password)
                raise Unauthorized("wrong name or password", "password", "bad_credentials")
            if found.disabled:
                _verify(_DUMMY, password)
                raise Forbidden("this account is disabled", "username", "account_disabled")
            if found.locked_until_ms > now:
                raise Forbidden("too many failed sign-ins; try later", "username", "locked_out")
            if not _verify(found.password_hash, password):
                failed = found.failed_logins + 1
                locked = now + LOCK_MS if failed >= MAX_FAILED else 0
                await conn.execute(
                    update(ops_users)
                    .where(ops_users.c.username == username)
                    .values(failed_logins=0 if locked else failed, locked_until_ms=locked)
                )
                raise Unauthorized("wrong name or password", "password", "bad_credentials")
            await conn.execute(
                update(ops_users)
                .where(ops_users.c.username == username)
                .values(failed_logins=0, locked_until_ms=0)
            )
        return Account(found.username, found.display_name, found.role)

    async def get(self, username: str) -> Account | None:
        async with self._engine.connect() as conn:
            found = (
                await conn.execute(select(ops_users).where(ops_users.c.username == username))
            ).first()
        if found is None:
            return None
        return Account(
            found.username, found.display_name, found.role, found.disabled, found.locked_until_ms
        )

    async def all(self) -> list[Account]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(ops_users).order_by(ops_users.c.username))).all()
        return [
            Account(r.username, r.display_name, r.role, r.disabled, r.locked_until_ms) for r in rows
        ]

    async def change(
        self,
        username: str,
        *,
        role: str | None = None,
        disabled: bool | None = None,
        password: str | None = None,
    ) -> None:
        values: dict[str, object] = {"updated_at_ms": _now_ms()}
        if role is not None:
            if role not in ROLES:
                raise BadInput(f"one of {', '.join(ROLES)}", "role")
            values["role"] = role
        if disabled is not None:
            values["disabled"] = disabled
        if password is not None:
            check_password(password)
            values.update(password_hash=_HASHER.hash(password), failed_logins=0, locked_until_ms=0)
        async with self._engine.begin() as conn:
            await conn.execute(
                update(ops_users).where(ops_users.c.username == username).values(values)
            )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _now_ms() -> int:
    return int(time.time() * 1000)
