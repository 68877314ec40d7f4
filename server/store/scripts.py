"""The Lua scripts of lua/, loaded once and registered with redis-py, whose
AsyncScript reloads a script by itself when the server answers NOSCRIPT."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

_SOURCE_TREE_LUA = Path(__file__).resolve().parents[2] / "lua"


# A line "-- include: <name>" in a script is replaced by lua/include/<name>.lua: Redis
# scripts cannot import, and a helper several scripts share is kept in one place.
_INCLUDE = re.compile(r"^-- include: (\w+)$", re.MULTILINE)


@cache
def lua_source(name: str) -> str:
    """A script's text, with its includes pasted in."""
    return _INCLUDE.sub(
        lambda line: _read(f"include/{line[1]}.lua").rstrip("\n"), _read(f"{name}.lua")
    )


def _read(relative: str) -> str:
    """Packaged inside `server` in a wheel, or lua/ in a checkout."""
    packaged = resources.files("server").joinpath("lua", relative)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (_SOURCE_TREE_LUA / relative).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Scripts:
    reserve: AsyncScript
    release: AsyncScript
    return_unsold: AsyncScript
    init_pools: AsyncScript
    install_campaign: AsyncScript
    open_payment: AsyncScript
    settle_payment: AsyncScript
    close_group: AsyncScript
    fulfil: AsyncScript
    adjust_group_price: AsyncScript
    register_distributor: AsyncScript
    open_depositor_offer: AsyncScript
    init_warehouses: AsyncScript
    route_order: AsyncScript
    set_address: AsyncScript
    logistics_event: AsyncScript
    correct_shipment: AsyncScript
    open_after_sale: AsyncScript
    decide_after_sale: AsyncScript
    deliver_notices: AsyncScript
    record_visit: AsyncScript
    sandbox_refund: AsyncScript
    return_payout: AsyncScript
    lend: AsyncScript
    take_loan: AsyncScript

    @classmethod
    def register(cls, redis: Redis) -> Scripts:
        return cls(
            **{name: redis.register_script(lua_source(name)) for name in cls.__dataclass_fields__}
        )
