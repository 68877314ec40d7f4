"""Which modes are open at a moment of campaign time, and what the campaign's phase is."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from server.domain.campaign import MODES, Campaign, Mode

Phase = Literal["upcoming", "presale", "group", "direct", "ended"]


def open_modes(campaign: Campaign, now: datetime) -> list[Mode]:
    return [mode for mode in campaign.modes if campaign.window(mode).is_open(now)]


def phase(campaign: Campaign, now: datetime) -> Phase:
    """The headline phase: presale while it runs, then group buy, else what is left open."""
    modes = open_modes(campaign, now)
    for mode in MODES:
        if mode in modes:
            return mode
    first_open = min(campaign.window(m).opens_at for m in campaign.modes)
    return "upcoming" if now < first_open else "ended"


def balance_window_open(campaign: Campaign, now: datetime) -> bool:
    presale = campaign.presale
    return presale is not None and presale.balance_opens_at <= now < presale.balance_closes_at
