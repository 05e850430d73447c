"""The locks this process holds, so that a lock taken again in the same process (the CLI holds
the warehouse for a whole run, and the flow takes it again) is not taken twice: an ``flock``
belongs to an open file and a second open would wait for the first, and a PostgreSQL advisory
lock taken on a second session would wait for the first session."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable, Iterator
from typing import Any


class HeldLocks:
    """Lock key -> what the holder keeps with it (its file, the names it covers)."""

    def __init__(self) -> None:
        self._held: dict[Hashable, Any] = {}
        self._guard = threading.Lock()

    def __contains__(self, key: Hashable) -> bool:
        with self._guard:
            return key in self._held

    def covered(self, key: Hashable, covers: Callable[[Any], bool] = lambda _: True) -> bool:
        """Whether this process holds ``key`` with a value that ``covers`` accepts."""
        with self._guard:
            return key in self._held and covers(self._held[key])

    @contextlib.contextmanager
    def holding(self, key: Hashable, value: Any) -> Iterator[None]:
        """Mark ``key`` held (with ``value``) until the block ends."""
        with self._guard:
            self._held[key] = value
        try:
            yield
        finally:
            with self._guard:
                self._held.pop(key, None)
