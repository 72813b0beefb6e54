"""When a run's progress is written to the run store, so other processes can read it.

Progress lives in memory in the process running the run; ``valiqor fa status`` in
another shell, or a second server on the same data directory, reads the store. One
write per item would cost a big run thousands of commits, so writes are throttled:
the first analyzed item (so a started run shows it has started), then at most one
every ``every_s`` seconds, or one every ``every_items`` items when items are fast and
a frozen or coarse clock would hold the time rule back. The final count is written
with the result (:meth:`RunStore.finish_run`), so it is never throttled away.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class ProgressThrottle:
    """Decides which progress counts of one run are worth a store write.

    Args:
        every_s: at least this many seconds between two writes...
        every_items: ...unless this many more items were analyzed since the last write.
        clock: monotonic seconds (injectable for tests).
    """

    every_s: float = 0.5
    every_items: int = 1000
    clock: Callable[[], float] = time.monotonic
    _written_at: float | None = field(default=None, init=False, repr=False)
    _written: int = field(default=0, init=False, repr=False)

    def due(self, items_done: int, total_items: int) -> bool:
        """Whether to write ``items_done`` now; a ``True`` answer counts as the write."""
        if items_done >= total_items:  # the result's write carries the final count
            return False
        now = self.clock()
        if (self._written_at is not None and now - self._written_at < self.every_s
                and items_done - self._written < self.every_items):
            return False
        self._written_at, self._written = now, items_done
        return True
