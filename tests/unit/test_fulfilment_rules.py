"""The pure rules of fulfilment: divisions, addresses, routing."""

from __future__ import annotations

import pytest

from server.domain.addresses import parse_address, shown
from server.domain.campaign import parse_campaign
from server.domain.regions import divisions, provinces, region_of, resolve
from server.domain.routing import Depot, Serves, covers, plan_route
from server.errors import BadInput, InvalidCampaign
from tests.campaigns import CANONICAL

GOOD = {
    "recipient": "张三",
    "phone": "138 1234 5678",
    "province": "310000",
    "city": "",
    "district": "310104",
    "street": "漕溪北路 88 号 1 号楼 101",
}


def test_the_divisions_come_from_the_vendored_package() -> None:
    assert len(provinces()) == 34  # 23 provinces, 5 regions, 4 municipalities, HK, Macau
    assert divisions()["440305"].name == "南山区"
    assert len(divisions()) > 3000


@pytest.mark.parametrize(
    ("province", "city", "district", "label"),
    [
        ("310000", "", "310104", "上海市徐汇区"),  # a municipality: no city level
        ("440000", "440300", "440305", "广东省深圳市南山区"),
        ("440000", "441900", "", "广东省东莞市"),  # a city without districts
        ("810000", "", "810001", "香港特别行政区中西区"),
    ],
)
def test_resolve_accepts_exactly_the_levels_a_place_has(
    province: str, city: str, district: str, label: str
) -> None:
    region = resolve(province, city, district)
    assert region.label == label
    assert region_of(region.code) == region


@pytest.mark.parametrize(
    ("province", "city", "district", "field"),
    [
        ("990000", "", "", "province"),
        ("310104", "", "", "province"),  # a district is not a province
        ("440000", "", "440305", "city"),  # Guangdong has cities: one is needed
        ("440000", "510100", "510104", "city"),  # Chengdu is not in Guangdong
        ("440000", "440300", "", "district"),
        ("440000", "440300", "440105", "district"),  # a Guangzhou district
        ("440000", "441900", "441901", "district"),
        ("310000", "310100", "310104", "city"),  # Shanghai has no city level
    ],
)
def test_resolve_names_the_wrong_field(province: str, city: str, district: str, field: str) -> None:
    with pytest.raises(BadInput) as caught:
        resolve(province, city, district)
    assert caught.value.field == field


def test_an_address_is_checked_field_by_field_and_normalised() -> None:
    address = parse_address(GOOD)
    assert address.phone == "13812345678"
    assert address.region.code == "310104"
    for field, bad in [
        ("recipient", ""),
        ("recipient", "张" * 21),
        ("phone", "12345"),
        ("phone", "23812345678"),
        ("street", "短"),
        ("street", "漕溪北路\x00 88 号"),
        ("district", "31010a"),
        ("district", "999999"),
    ]:
        with pytest.raises(BadInput) as caught:
            parse_address({**GOOD, field: bad})
        assert caught.value.field == field, (field, bad)


def test_an_address_is_masked_for_a_reader_who_does_not_need_it() -> None:
    row = {
        "address_id": "a1",
        "recipient": "张三丰",
        "phone": "13812345678",
        "region_code": "310104",
        "region_label": "上海市徐汇区",
        "street": "漕溪北路 88 号 1 号楼 101",
        "is_default": True,
    }
    masked = shown(row, whole=False)
    assert masked["phone"] == "138****5678"
    assert masked["recipient"] == "张**"
    assert "88" not in masked["street"]
    assert shown(row, whole=True)["street"] == row["street"]


SH = Depot("sh", (Serves("310000", 1), Serves("320000", 2)))
GZ = Depot("gz", (Serves("440000", 1), Serves("440300", 1)))
CD = Depot("cd", (Serves("510000", 1),))


def test_covers_by_level() -> None:
    assert covers("310000", "310104")
    assert covers("440300", "440305")
    assert not covers("440300", "440105")
    assert covers("440305", "440305")
    assert not covers("440305", "440306")


def test_the_best_warehouse_that_holds_all_the_units_ships_them() -> None:
    free = {"sh": 10, "gz": 10, "cd": 10}
    assert plan_route([SH, GZ, CD], free, "440305", 3, "region_priority") == [("gz", 3)]
    # the region's own warehouse is short: the next that holds it all, not a split
    short = {**free, "gz": 2}
    assert plan_route([SH, GZ, CD], short, "440305", 3, "region_priority") == [("sh", 3)]
    # nobody serves Xinjiang: the configured order decides
    assert plan_route([SH, GZ, CD], free, "650102", 3, "region_priority") == [("sh", 3)]


def test_an_order_splits_only_when_no_warehouse_holds_it() -> None:
    free = {"sh": 2, "gz": 2, "cd": 1}
    assert plan_route([SH, GZ, CD], free, "440305", 5, "region_priority") == [
        ("gz", 2),
        ("sh", 2),
        ("cd", 1),
    ]
    assert plan_route([SH, GZ, CD], free, "440305", 6, "region_priority") is None


def test_most_stock_takes_the_fullest_warehouse_first() -> None:
    free = {"sh": 3, "gz": 9, "cd": 5}
    assert plan_route([SH, GZ, CD], free, "310104", 2, "most_stock") == [("gz", 2)]
    assert plan_route([SH, GZ, CD], free, "310104", 12, "most_stock") == [("gz", 9), ("cd", 3)]


def test_the_canonical_warehouses_split_the_ten_thousand_boxes() -> None:
    fulfilment = parse_campaign(CANONICAL).fulfilment
    assert fulfilment is not None
    units = {h.name: h.units for h in fulfilment.warehouses}
    assert units == {"上海仓": 4000, "广州仓": 3000, "成都仓": 2000, "北京仓": 1000}


def test_warehouse_problems_are_named_by_their_path() -> None:
    bad = CANONICAL.replace("units = 4000", "units = 3999").replace(
        'region = "320000"', 'region = "329999"'
    )
    bad = bad.replace('code = "beijing"', 'code = "chengdu"')
    with pytest.raises(InvalidCampaign) as caught:
        parse_campaign(bad)
    fields = {p.field for p in caught.value.problems}
    assert fields == {
        "fulfilment.warehouses",
        "fulfilment.warehouses[0].serves[1].region",
        "fulfilment.warehouses[3].code",
    }
