"""The in-process sold-out flag: what each sale mode could still get from the pools, as
last heard. Fed by the stock messages the scripts publish and by a periodic read of the
pools (the backstop for a missed message). Used only to refuse, never to accept, so a
stale view can refuse a unit for a moment but can never oversell.
"""

from __future__ import annotations

from collections.abc import Mapping

from server.domain.campaign import Mode
from server.domain.pools import Plan, available


class SoldOutFlag:
    def __init__(self, plans: Mapping[Mode, Plan]) -> None:
        self._plans = dict(plans)
        self._remaining: dict[str, int] | None = None  # None until first heard
        self._available: dict[Mode, int] | None = None
        self.messages = 0  # stock messages heard so far

    def sold_out(self, mode: Mode, qty: int) -> bool:
        """Known to be unable to serve qty units in this mode."""
        known = self._available
        return known is not None and known.get(mode, 0) < qty

    def hear_message(self, remaining: Mapping[str, int]) -> None:
        """A script's stock message: the pools' remaining units when it ran."""
        self.messages += 1
        self._know(remaining)

    def hear_read(self, remaining: Mapping[str, int], messages_before: int) -> bool:
        """A read of the pools begun when `messages_before` messages had been heard. Kept
        only if no message came while it was in flight: that message may say what happened
        after the read (units given back), and the read must not overwrite it."""
        if self.messages != messages_before:
            return False
        self._know(remaining)
        return True

    def replan(self, plans: Mapping[Mode, Plan]) -> None:
        """The campaign changed (borrowing floors): work out availability again."""
        self._plans = dict(plans)
        if self._remaining is not None:
            self._know(self._remaining)

    def _know(self, remaining: Mapping[str, int]) -> None:
        self._remaining = dict(remaining)
        self._available = {mode: available(plan, remaining) for mode, plan in self._plans.items()}
