from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from server.clock import ClockMovedBackwards, SimulatedState, from_ms, to_ms
from server.domain.campaign import parse_campaign
from server.domain.phases import balance_window_open, open_modes, phase
from server.domain.pricing import amount_due_fen
from tests.campaigns import CANONICAL

CAMPAIGN = parse_campaign(CANONICAL)


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def test_simulated_clock_runs_at_its_speed() -> None:
    state = SimulatedState(anchor_ms=1_000_000, real_anchor_ms=0, speed=60.0)
    assert state.at(1_000) == 1_060_000  # one real second is one campaign minute


def test_clock_advances_and_sets_but_never_goes_back() -> None:
    state = SimulatedState(anchor_ms=0, real_anchor_ms=0)
    advanced = state.moved(10, advance_ms=3_600_000)
    assert advanced.at(10) == 10 + 3_600_000
    assert state.moved(10, set_ms=5_000_000).at(10) == 5_000_000
    with pytest.raises(ClockMovedBackwards):
        advanced.moved(10, set_ms=0)
    assert advanced.moved(10, speed=2.0).speed == 2.0


def test_ms_round_trip() -> None:
    moment = at("2026-09-01T20:00:00+08:00")
    assert from_ms(to_ms(moment)) == moment


@pytest.mark.parametrize(
    ("iso", "expected_phase", "modes"),
    [
        ("2026-08-31T23:59:59+08:00", "upcoming", []),
        ("2026-09-01T00:00:00+08:00", "presale", ["presale", "direct"]),
        ("2026-09-05T23:59:59+08:00", "presale", ["presale", "direct"]),
        ("2026-09-06T00:00:00+08:00", "group", ["group", "direct"]),
        ("2026-09-16T00:00:00+08:00", "ended", []),
    ],
)
def test_phases_follow_the_windows(iso: str, expected_phase: str, modes: list[str]) -> None:
    assert phase(CAMPAIGN, at(iso)) == expected_phase
    assert open_modes(CAMPAIGN, at(iso)) == modes


def test_balance_window_opens_when_presale_closes() -> None:
    closes = CAMPAIGN.presale_rules.closes_at
    assert not balance_window_open(CAMPAIGN, closes - timedelta(seconds=1))
    assert balance_window_open(CAMPAIGN, closes)


def test_amount_due_per_mode() -> None:
    assert amount_due_fen(CAMPAIGN, "presale", 2) == 10_000  # two deposits of ¥50
    assert amount_due_fen(CAMPAIGN, "group", 1) == 32_800  # the entry tier, ¥328
    assert amount_due_fen(CAMPAIGN, "direct", 3) == 3 * 36_800
