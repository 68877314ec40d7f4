from __future__ import annotations

from server.feeds.hub import DROP_AFTER_MISSED, Frames, Subscriber
from server.feeds.metrics import Raw, dashboard, live


def frames(n: int) -> Frames:
    return Frames(str(n), bytes([n % 256]))


def test_a_slow_subscriber_keeps_only_the_latest_frame() -> None:
    slow = Subscriber("dashboard", binary=False)
    for n in range(5):
        assert slow.offer(frames(n))
    assert slow.latest.qsize() == 1 and slow.latest.get_nowait() == frames(4)


def test_a_subscriber_too_far_behind_is_dropped_and_told() -> None:
    stuck = Subscriber("live", binary=True)
    results = [stuck.offer(frames(n)) for n in range(DROP_AFTER_MISSED + 1)]
    assert results[-1] is False and all(results[:-1])
    stuck.close()
    assert stuck.latest.get_nowait() is None


def test_a_reading_subscriber_is_never_counted_behind() -> None:
    reader = Subscriber("live", binary=False)
    for n in range(3 * DROP_AFTER_MISSED):
        assert reader.offer(frames(n))
        reader.latest.get_nowait()
    assert reader.missed == 0


RAW = Raw(
    version=7,
    counters={
        "orders.accepted": 20,
        "orders.presale": 10,
        "payments.deposit": 9,
        "orders.via_distributor": 11,
        "groups.opened": 3,
        "groups.formed": 1,
        "groups.failed": 1,
        "groups.formed_members": 25,
        "gmv.paid_fen": 45000,
    },
    pools={"presale": {"quota": 20, "remaining": 10, "reserved": 1, "sold": 9, "moved_in": 0}},
    leading_groups=[("ABCD2345", 12)],
    top_distributors=[("DAAAAAAA", 5)],
    recruited=40,
    recruited_last_10_min=3,
)


def test_dashboard_snapshot_from_raw_counters() -> None:
    snap = dashboard(RAW, orders_per_s=12.34)
    assert snap["deposits"] == {"placed": 10, "paid": 9, "payment_rate": 0.9}
    assert snap["groups"]["open"] == 1 and snap["groups"]["average_size"] == 25
    assert snap["orders"]["via_distributor_share"] == 0.55
    assert snap["orders"]["per_second"] == 12.3
    assert snap["stock"] == {
        "total": 20,
        "remaining": 10,
        "pools": {
            "presale": {"quota": 20, "remaining": 10, "reserved": 1, "sold": 9, "borrowed": 0}
        },
    }
    assert snap["distributors"] == {
        "recruited": 40,
        "last_10_min": 3,
        "top": [{"code": "DAAAAAAA", "units": 5}],
    }


def test_live_snapshot_shows_only_public_numbers() -> None:
    assert set(live(RAW)) == {"stock", "groups"}
