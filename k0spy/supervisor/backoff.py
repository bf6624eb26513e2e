"""When to restart a child that exited: a pure, tested-without-sleeping policy.

k0s waits a fixed 5 s before every respawn, forever. k0spy restarts the first crash at once (runit and s6
respawn in a few milliseconds; a kube-apiserver killed by the OOM killer should be back before anyone
notices), then backs off exponentially so that a crash loop costs almost nothing:

    attempt   0     1      2      3      4      5      6 ...
    delay     0 s   0.1 s  0.2 s  0.4 s  0.8 s  1.6 s  3.2 s, then capped at 5 s (k0s's fixed delay)

each delay (except the immediate first one) with +/-10 % jitter so that several crashing children do not
restart in lock-step. A child that stayed up for `reset_after` (10 s) is considered healthy again: its
next crash is treated as a first one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffPolicy:
    first: float = 0.0
    initial: float = 0.1
    factor: float = 2.0
    cap: float = 5.0
    jitter: float = 0.1
    reset_after: float = 10.0

    def base_delay(self, attempt: int) -> float:
        """The delay before restart number `attempt` (0-based) without jitter."""
        if attempt <= 0:
            return min(self.first, self.cap)
        return float(min(self.cap, self.initial * self.factor ** min(attempt - 1, 64)))

    def next_delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The delay with jitter, never above the cap and never negative."""
        base = self.base_delay(attempt)
        if base <= 0 or self.jitter <= 0:
            return base
        spread = (rng or random).uniform(-self.jitter, self.jitter)
        return max(0.0, min(self.cap, base * (1.0 + spread)))

    def next_attempt(self, attempt: int, uptime: float) -> int:
        """The attempt number to use after a child that ran for `uptime` seconds exited."""
        return 0 if uptime >= self.reset_after else attempt


DEFAULT_BACKOFF = BackoffPolicy()
