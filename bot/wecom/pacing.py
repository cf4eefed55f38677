"""Per-member pacing of WeCom messages: at most 30 a minute and 1000 an hour to one member.

A sliding window, not a refilling bucket: a bucket of 30 that refills at 30 a minute lets
nearly 60 through within one minute (a full bucket, then the refill), which WeCom would answer
with 45009. Here no window of 60 s ever holds more than 30 sends, nor one of 3600 s more than
1000. The clock and the sleep are injectable, so tests run in no time."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence

WECOM_LIMITS: tuple[tuple[int, float], ...] = ((30, 60.0), (1000, 3600.0))


class Pacer:
    def __init__(
        self,
        limits: Sequence[tuple[int, float]] = WECOM_LIMITS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not limits or any(n < 1 or window <= 0 for n, window in limits):
            raise ValueError("limits are (count >= 1, seconds > 0) pairs")
        self.limits = tuple(limits)
        self.clock, self.sleep = clock, sleep
        self._depth = max(n for n, _ in self.limits)
        self._horizon = max(window for _, window in self.limits)
        self._sent: dict[Hashable, deque[float]] = {}
        self._calls = 0

    def delay(self, key: Hashable) -> float:
        """Seconds until one more send to ``key`` is allowed (0: now)."""
        stamps = self._sent.get(key)
        if not stamps:
            return 0.0
        now = self.clock()
        wait = 0.0
        for n, window in self.limits:
            if len(stamps) >= n:
                wait = max(wait, stamps[-n] + window - now)
        return max(wait, 0.0)

    def record(self, key: Hashable) -> None:
        stamps = self._sent.get(key)
        if stamps is None:
            stamps = self._sent[key] = deque(maxlen=self._depth)
        stamps.append(self.clock())
        self._calls += 1
        if self._calls % 1024 == 0:
            self._forget_idle()

    async def acquire(self, key: Hashable) -> float:
        """Wait until a send to ``key`` is allowed and count it; returns the seconds waited."""
        waited = 0.0
        while (wait := self.delay(key)) > 0:
            await self.sleep(wait)
            waited += wait
        self.record(key)  # no await between the check and the count: atomic on the loop
        return waited

    def _forget_idle(self) -> None:
        """Members with nothing sent within the longest window take no memory."""
        cutoff = self.clock() - self._horizon
        for key in [k for k, stamps in self._sent.items() if not stamps or stamps[-1] <= cutoff]:
            del self._sent[key]

    def __len__(self) -> int:
        return len(self._sent)
