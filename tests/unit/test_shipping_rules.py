"""The tracking upload's rules: every bad row named by line and field."""

from __future__ import annotations

from server.domain.shipping import CARRIERS, check_tracking, parse_tracking_csv
from server.fulfilment.sandbox_courier import tracking_no
from server.ops.shipping import carrier_names

NAMES = carrier_names()


def parse(text: str) -> tuple[list[tuple[int, str, str, str]], list[tuple[int, str, str]]]:
    rows, problems = parse_tracking_csv(text.encode("utf-8-sig"), NAMES)
    return (
        [(r.line, r.order_id, r.carrier, r.tracking_no) for r in rows],
        [(p.line, p.field, p.code) for p in problems],
    )


def test_the_sandbox_numbers_have_each_carriers_shape() -> None:
    for carrier in CARRIERS:
        assert check_tracking(carrier, tracking_no(carrier, 42)), carrier


def test_a_good_file_in_chinese_or_english_headings() -> None:
    rows, problems = parse(
        "订单号,快递公司,运单号\nm.1,顺丰速运,sf000000000001\nm.2,ZTO,123456789012\n"
    )
    assert problems == []
    assert rows == [(2, "m.1", "SF", "SF000000000001"), (3, "m.2", "ZTO", "123456789012")]
    rows, _ = parse("tracking_no,order_id,carrier\n123456789012,m.3,zto\n")
    assert rows == [(2, "m.3", "ZTO", "123456789012")]


def test_every_bad_row_is_named_by_line_and_field() -> None:
    text = (
        "订单号,快递公司,运单号\n"
        "m.1,顺丰速运,SF000000000001\n"
        ",顺丰速运,SF000000000002\n"  # no order
        "m.3,飞鸽快递,123\n"  # no such carrier
        "m.4,SF,12345\n"  # not an SF number
        "m.1,ZTO,123456789012\n"  # the same order twice
        "m.6,SF,SF000000000001\n"  # the same parcel twice
        "\n"
    )
    rows, problems = parse(text)
    assert problems == [
        (3, "order_id", "required"),
        (4, "carrier", "no_carrier"),
        (5, "tracking_no", "bad_tracking"),
        (6, "order_id", "twice"),
        (7, "tracking_no", "twice"),
    ]
    assert [r[0] for r in rows] == [2]


def test_a_file_that_is_not_a_tracking_list() -> None:
    assert parse("订单号,运单号\nm.1,SF000000000001\n")[1] == [(1, "carrier", "missing_column")]
    assert parse("订单号,快递公司,运单号\n")[1] == [(0, "file", "no_rows")]
    _, problems = parse_tracking_csv("订单号".encode("gbk"), NAMES)
    assert [(p.field, p.code) for p in problems] == [("file", "not_utf8")]
