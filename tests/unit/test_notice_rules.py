"""domain/notices.py against plain models: which reminder is due, who is nudged, and what
each notice may do (service always pushed; promotions opted out or capped per hour)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.notices import (
    CATEGORY,
    HOUR_MS,
    AwaitingBalance,
    FormingGroup,
    GroupOutcome,
    Notice,
    Parcel,
    balance_reminders,
    decide,
    group_outcomes,
    group_short,
    parcels,
    reminder_due,
)
from server.domain.notices import depositor_offer as offer_notices
from server.i18n import catalogue
from server.notify.texts import render

CLOSES = 1_000 * HOUR_MS


@given(
    hours=st.lists(st.integers(1, 240), max_size=6, unique=True),
    before=st.integers(-10 * HOUR_MS, 300 * HOUR_MS),
)
def test_the_reminder_due_is_the_latest_whose_time_came(hours: list[int], before: int) -> None:
    now = CLOSES - before
    due = reminder_due(hours, CLOSES, now)
    came = [h for h in hours if before <= h * HOUR_MS]
    if before <= 0 or not came:
        assert due is None  # closed already, or no reminder's time yet
    else:
        assert due == min(came)


def test_each_deposit_gets_each_reminder_under_its_own_key() -> None:
    awaiting = [AwaitingBalance("o1", "amy"), AwaitingBalance("o2", "bo")]
    day = balance_reminders([24, 2], CLOSES, CLOSES - 20 * HOUR_MS, awaiting, 92)
    assert [n.key for n in day] == ["balance:o1:24", "balance:o2:24"]
    late = balance_reminders([24, 2], CLOSES, CLOSES - HOUR_MS, awaiting, 92)
    assert [n.key for n in late] == ["balance:o1:2", "balance:o2:2"]
    assert "92%" in render(late[0]) and "2 小时" in render(late[0])
    assert balance_reminders([24, 2], CLOSES, CLOSES, awaiting, 92) == []


@given(
    groups=st.lists(
        st.tuples(st.integers(0, 12), st.lists(st.sampled_from("abcdef"), max_size=5)),
        max_size=6,
    ),
    at_most=st.integers(0, 4),
)
def test_a_group_is_nudged_when_it_lacks_few_enough(
    groups: list[tuple[int, list[str]]], at_most: int
) -> None:
    forming = [FormingGroup(f"G{i}", missing, tuple(m)) for i, (missing, m) in enumerate(groups)]
    found = group_short(at_most, forming)
    expected = {
        (g.code, g.missing, user) for g in forming if 0 < g.missing <= at_most for user in g.members
    }
    assert {(n.params[1][1], n.params[0][1], n.user) for n in found} == expected
    assert len({n.key for n in found}) == len(found)  # one per group, headcount and member


def test_outcomes_and_parcels_name_the_fact_in_the_key() -> None:
    formed = GroupOutcome("o1", "amy", "G1", True, 30800, 2000)
    failed = GroupOutcome("o2", "bo", "G2", False, 0, 32800)
    same = GroupOutcome("o3", "cy", "G1", True, 32800, 0)
    found = group_outcomes([formed, failed, same])
    assert [n.key for n in found] == ["group_formed:o1", "group_failed:o2", "group_formed:o3"]
    assert [render(n) for n in found] == [
        "拼团成功！成团价 ¥308/盒，差价 ¥20 将原路退回",
        "很遗憾，您参加的团未能成团，已支付的 ¥328 将原路退回",
        "拼团成功！成团价 ¥328/盒，我们会尽快为您发货",
    ]
    boxes = parcels([Parcel("o1", "amy", "SF", "SF123", False), Parcel("o2", "bo", "", "", True)])
    assert [n.key for n in boxes] == ["shipped:o1", "delivered:o2"]
    assert render(boxes[0]) == "您的订单已发货：顺丰速运　运单号 SF123"
    assert render(boxes[1]) == "您的包裹已签收，如有问题可在订单里申请售后"
    (offer,) = offer_notices(["amy"], 28800, 23800)
    assert offer.key == "offer:amy" and "¥238" in render(offer)


def test_every_kind_has_its_words() -> None:
    words = catalogue()["notice"]
    assert set(CATEGORY) <= set(words)


notices = st.lists(
    st.builds(
        Notice,
        key=st.uuids().map(str),
        user=st.sampled_from(["amy", "bo", "cy"]),
        kind=st.sampled_from(sorted(CATEGORY)),
    ),
    max_size=25,
)


@settings(max_examples=200)
@given(
    found=notices,
    opted_out=st.sets(st.sampled_from(["amy", "bo", "cy"])),
    pushed=st.dictionaries(st.sampled_from(["amy", "bo", "cy"]), st.integers(0, 5)),
    per_hour=st.integers(0, 4),
)
def test_decisions_follow_the_plain_model(
    found: list[Notice], opted_out: set[str], pushed: dict[str, int], per_hour: int
) -> None:
    decisions = decide(found, opted_out, pushed, per_hour)
    assert [d.notice for d in decisions] == found  # each once, in order
    count = dict(pushed)
    for d in decisions:  # the model: walk the notices, counting each viewer's pushes
        n = d.notice
        if CATEGORY[n.kind] == "service":
            assert (d.delivery, d.reason) == ("push", "")
        elif n.user in opted_out:
            assert (d.delivery, d.reason) == ("skip", "opted_out")
        elif count.get(n.user, 0) >= per_hour:
            assert (d.delivery, d.reason) == ("inbox", "rate")
        else:
            assert d.delivery == "push"
            count[n.user] = count.get(n.user, 0) + 1
    for user in ("amy", "bo", "cy"):  # no viewer is pushed promotions past the rate
        promoted = sum(
            d.delivery == "push" and d.notice.category == "promotion" and d.notice.user == user
            for d in decisions
        )
        assert promoted <= max(0, per_hour - pushed.get(user, 0))
