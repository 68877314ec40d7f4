"""reserve.lua takes each order as one argument, a MessagePack array of text: every field
arrives in its place, whatever it holds, the order record's known fields arrive as one JSON
object (its "{" left for the script), and no byte is NUL (redis-benchmark sends it too)."""

from __future__ import annotations

from dataclasses import replace

import msgpack
import orjson

from server.domain.commission import Attribution
from server.domain.pools import Plan
from server.store.stock import ORDER_FIELDS, OrderRequest

ORDER = OrderRequest(
    user="viewer-1",
    mode="group",
    qty=2,
    limit=5,
    plan=Plan("group", (("distribution", 1000),)),
    unit_price_fen=19_800,
    pay_before_ms=1_788_192_000_000,
    group_action="open",
    group_code="ABCD2345",
    group_capacity=10,
    group_expires_ms=1_788_278_400_000,
    attribution=Attribution(channel="distributor", level1="a\x1fb"),
)


def test_every_field_arrives_in_its_place() -> None:
    fields = msgpack.unpackb(ORDER.packed())
    assert len(fields) == ORDER_FIELDS and all(isinstance(f, str) for f in fields)
    assert fields[:6] == ["viewer-1", "group", "2", "5", "group;distribution:1000", "1788192000000"]
    assert fields[8:13] == ["open", "ABCD2345", "10", "1788278400000", "1"]  # via a distributor
    assert fields[13] == ""  # a first try (a stock bucket's retry after borrowing says "1")
    assert msgpack.unpackb(replace(ORDER, retry_sold_out=True).packed())[13] == "1"
    record = orjson.loads("{" + fields[14])
    assert record["attribution"] == ORDER.attribution.as_dict()
    assert (record["unit_price_fen"], record["amount_due_fen"]) == (19_800, 39_600)
    assert (record["pool"], record["group_code"], record["status"]) == (
        "group",
        "ABCD2345",
        "awaiting_payment",
    )
    # what only the script knows it adds itself
    assert not {"id", "campaign_id", "alloc", "created_at_ms", "history"} & set(record)


def test_a_field_holding_anything_stays_one_field_and_no_byte_is_nul() -> None:
    odd = replace(ORDER, user="a\x1fb,\n{c}", group_capacity=0, group_expires_ms=0)
    packed = odd.packed()
    assert b"\0" not in packed
    fields = msgpack.unpackb(packed)
    assert fields[0] == "a\x1fb,\n{c}" and fields[10:12] == ["0", "0"]
