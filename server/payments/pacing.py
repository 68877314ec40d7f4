"""An idle worker loop should not query the ledger twice a second for nothing: a step is
skipped while nothing could have changed (no ledger entry applied since the last look, no
work in hand) and less than a few seconds went by (another worker's entries, time passing
on the campaign clock)."""

from __future__ import annotations

import time
from collections.abc import Callable

LOOK_AGAIN_S = 5.0


class Pacer:
    def __init__(self, ledger_moves: Callable[[], int], every_s: float = LOOK_AGAIN_S) -> None:
        self._ledger_moves = ledger_moves
        self._every_s = every_s
        self._seen: int | None = None
        self._busy = True
        self._at = 0.0

    def quiet(self) -> bool:
        """True: skip this step. False: look, and call `looked` after."""
        moves = self._ledger_moves()
        if moves == self._seen and not self._busy and time.monotonic() - self._at < self._every_s:
            return True
        self._seen, self._at = moves, time.monotonic()
        return False

    def looked(self, busy: bool) -> None:
        """Whether the step found work (then the next one looks again at once)."""
        self._busy = busy
