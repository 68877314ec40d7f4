from __future__ import annotations

from server.store.scripts import Scripts, lua_source


def test_every_include_is_pasted_in_once() -> None:
    for name in Scripts.__dataclass_fields__:
        source = lua_source(name)
        assert "-- include:" not in source, name
        assert source.count("local function publish_stock") <= 1, name
    for name in ("reserve", "release", "return_unsold", "init_pools"):  # they change `remaining`
        assert "local function publish_stock" in lua_source(name), name
