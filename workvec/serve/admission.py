"""Deadline-aware admission: how long new work would wait, from the queued tokens and the measured service rate.

The batcher reports every text it queues or drops and every batch it finishes. A batch's service time is
the wall time since the previous batch finished (or since its first text was queued, if that is later), so
under a backlog it includes the event loop's share and the gaps between batches: what draining really
costs. Each batch key (operation and options) keeps its own rate, an EWMA of tokens per second over recent
batches; a key not measured yet borrows the mean of the others. The expected wait of new work is the sum,
over keys, of queued tokens / rate, plus what is left of the batch in flight.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable

__all__ = ["Backlog", "DeadlineExceeded", "QueueFull", "retry_after"]


class QueueFull(Exception):
    """Refused at admission: `limit` names the bound ("max_queue", "max_queue_ms" or "request_timeout");
    `retry_after` is a guess in whole seconds."""

    def __init__(self, message: str, limit: str, retry_after: int) -> None:
        super().__init__(message)
        self.limit, self.retry_after = limit, retry_after


class DeadlineExceeded(Exception):
    """A request was still waiting for inference when its deadline passed."""


class Backlog:
    """Queued tokens per batch key and each key's service rate (tokens per second, EWMA)."""

    def __init__(self, alpha: float = 0.3) -> None:
        self.alpha = alpha
        self.tokens: dict[Hashable, int] = {}
        self.rates: dict[Hashable, float] = {}
        self._last_end = 0.0
        self._busy_until = 0.0

    def add(self, key: Hashable, tokens: int) -> None:
        """Tokens of `key` joined the queue."""
        self.tokens[key] = self.tokens.get(key, 0) + tokens

    def remove(self, key: Hashable, tokens: int) -> None:
        """Tokens of `key` left the queue (taken into a batch, purged or expired)."""
        left = self.tokens.get(key, 0) - tokens
        if left > 0:
            self.tokens[key] = left
        else:
            self.tokens.pop(key, None)

    def rate(self, key: Hashable) -> float | None:
        """Tokens per second for `key` (the mean of the measured keys when it has none yet); None before any."""
        if key in self.rates:
            return self.rates[key]
        return sum(self.rates.values()) / len(self.rates) if self.rates else None

    def started(self, key: Hashable, tokens: int, now: float | None = None) -> None:
        """A batch of `tokens` went to the inference thread."""
        rate = self.rate(key)
        now = time.monotonic() if now is None else now
        self._busy_until = now + tokens / rate if rate else now

    def finished(self, key: Hashable, tokens: int, first_queued: float, now: float | None = None) -> None:
        """A batch finished: update `key`'s rate from its service time."""
        now = time.monotonic() if now is None else now
        seconds = max(now - max(self._last_end, first_queued), 1e-4)
        self._last_end = self._busy_until = now
        measured = tokens / seconds
        old = self.rates.get(key)
        self.rates[key] = measured if old is None else (1 - self.alpha) * old + self.alpha * measured

    def wait(self, now: float | None = None) -> float | None:
        """Seconds until new work would start (None while no batch has been measured)."""
        if not self.rates:
            return None
        now = time.monotonic() if now is None else now
        queued = sum(n / (self.rate(key) or 1.0) for key, n in self.tokens.items())
        return queued + max(0.0, self._busy_until - now)

    def cost(self, key: Hashable, tokens: int) -> float:
        """Seconds `tokens` of `key` take to serve (0 before any measurement)."""
        rate = self.rate(key)
        return tokens / rate if rate else 0.0


def retry_after(seconds: float) -> int:
    """A Retry-After value: whole seconds, 1..60."""
    return max(1, min(60, math.ceil(seconds)))
