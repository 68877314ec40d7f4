"""The in-process sold-out flag: refuses what the pools cannot serve as last heard, a read
of the pools never overwrites a stock message that came while the read was in flight, and
a campaign's new borrowing floors apply to what was already heard."""

from __future__ import annotations

from server.domain.campaign import Mode
from server.domain.pools import Plan
from server.domain.sold_out import SoldOutFlag

# direct orders draw on distribution, then borrow group's units down to a floor
PLANS: dict[Mode, Plan] = {
    "presale": Plan("presale"),
    "group": Plan("group", (("distribution", 0),)),
    "direct": Plan("distribution", (("group", 0),)),
}
EMPTY = {"presale": 0, "group": 0, "distribution": 0}


def test_nothing_is_refused_until_something_is_heard() -> None:
    flag = SoldOutFlag(PLANS)
    assert not flag.sold_out("presale", 1) and not flag.sold_out("direct", 10_000)


def test_refuses_what_the_pools_cannot_serve() -> None:
    flag = SoldOutFlag(PLANS)
    flag.hear_message({"presale": 1, "group": 2, "distribution": 3})
    assert not flag.sold_out("presale", 1) and flag.sold_out("presale", 2)
    assert not flag.sold_out("direct", 5) and flag.sold_out("direct", 6)  # 3 own + 2 borrowed


def test_a_read_in_flight_when_a_message_came_is_dropped() -> None:
    flag = SoldOutFlag(PLANS)
    flag.hear_message(EMPTY)
    begun = flag.messages  # the backstop starts reading: the pools are empty
    flag.hear_message(EMPTY | {"presale": 1})  # a refund gives a unit back meanwhile
    assert not flag.hear_read(EMPTY, begun)  # the read's answer is older than the message
    assert not flag.sold_out("presale", 1)


def test_a_read_with_no_message_meanwhile_is_kept() -> None:
    flag = SoldOutFlag(PLANS)
    flag.hear_message(EMPTY | {"presale": 1})
    assert flag.hear_read(EMPTY, flag.messages)  # e.g. a message was missed: the read corrects
    assert flag.sold_out("presale", 1)


def test_new_floors_apply_to_what_was_heard() -> None:
    flag = SoldOutFlag(PLANS)
    flag.hear_message({"presale": 0, "group": 5, "distribution": 3})
    assert not flag.sold_out("direct", 8)
    floor_5: dict[Mode, Plan] = {"direct": Plan("distribution", (("group", 5),))}
    flag.replan(PLANS | floor_5)
    assert flag.sold_out("direct", 4) and not flag.sold_out("direct", 3)
