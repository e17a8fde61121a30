"""Dynamic batching with asyncio: texts of concurrent requests share inference batches under a token budget.

Each request's texts join a queue under a key: the operation and its options plus, by default, the text's
exact token count, so that a batch never pads (padding width changes a text's floating-point result; with
equal lengths, token vectors are bit-identical to the text's alone). One consumer task takes the oldest key's texts, first come first
served, until the next text would push the padded size (rows x longest) past `max_batch_tokens`, waiting at
most `max_wait_ms` after the first text for company while other requests are on their way (a lone request
does not wait); the batch runs on a single inference thread (off the
event loop; onnxruntime parallelises inside each run) and its results go back to each request in order.

Admission: a request is refused at once (QueueFull) when its texts would pass `max_queue`, or when the
expected wait (queued tokens / measured service rate, see `admission.Backlog`, or the oldest queued text's
wait so far when longer) is over `max_queue_s` or the request's own timeout: it would miss its deadline
anyway, and refusing early keeps the queue short.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from workvec.serve.admission import Backlog, DeadlineExceeded, QueueFull, retry_after

__all__ = ["BatchStats", "Batcher", "DeadlineExceeded", "QueueFull"]


@dataclass(frozen=True)
class BatchStats:
    """One finished batch, for metrics."""

    key: Hashable
    texts: int
    tokens: int  # padded: rows x longest text
    seconds: float


@dataclass(eq=False)
class _Request:
    future: asyncio.Future
    deadline: float
    results: list
    remaining: int


@dataclass(eq=False)
class _Item:
    request: _Request
    index: int
    text: Any
    tokens: int
    queued_at: float = field(default_factory=time.monotonic)


RunFn = Callable[[Hashable, list], Sequence]


class Batcher:
    """Queue texts per key and run them in token-budgeted batches on one inference thread."""

    def __init__(self, run: RunFn, *, max_batch_tokens: int, max_wait_ms: float, max_queue: int,
                 max_queue_s: float = math.inf, max_rows: int = 64, batching: bool = True, exact_lengths: bool = True,
                 on_batch: Callable[[BatchStats], None] | None = None, arriving: Callable[[], int] | None = None) -> None:
        self._run = run
        self.max_batch_tokens = max_batch_tokens
        self.max_wait = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self.max_queue_s = max_queue_s
        self.backlog = Backlog()
        self.max_rows = max_rows
        self.batching = batching
        self.exact_lengths = exact_lengths
        self._on_batch = on_batch
        self._queues: OrderedDict[Hashable, deque[_Item]] = OrderedDict()
        self._queued = 0
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workvec-infer")
        self._task: asyncio.Task | None = None
        self._busy = False
        self._rate = 0.0  # texts per second, smoothed, for Retry-After
        self._arriving = arriving  # requests on their way: inside the service, texts not queued yet (None: unknown)

    @property
    def queued(self) -> int:
        """Texts waiting for a batch."""
        return self._queued

    def start(self) -> None:
        """Start the consumer task on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._consume(), name="workvec-batcher")

    async def stop(self) -> None:
        """Finish what is queued, then stop the consumer and the inference thread."""
        while self._queued or self._busy:
            await asyncio.sleep(0.01)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self._executor.shutdown(wait=True)

    async def submit(self, key: Hashable, texts: Sequence, tokens: Sequence[int], *, timeout: float) -> list:
        """Queue `texts` (with their token counts) under `key`; their results, in order. Raises QueueFull at
        once when the queue is full and DeadlineExceeded when `timeout` seconds pass first."""
        if not texts:
            return []
        self._admit(key, len(texts), sum(int(n) for n in tokens), timeout)
        loop = asyncio.get_running_loop()
        request = _Request(loop.create_future(), time.monotonic() + timeout, [None] * len(texts), len(texts))
        now = time.monotonic()
        for i, (text, n) in enumerate(zip(texts, tokens)):
            bucket = (key, int(n)) if self.exact_lengths else key
            self._queues.setdefault(bucket, deque()).append(_Item(request, i, text, int(n), now))
            self.backlog.add(key, int(n))
        self._queued += len(texts)
        self._wake.set()
        try:
            return await asyncio.wait_for(asyncio.shield(request.future), timeout)
        except asyncio.TimeoutError:
            raise DeadlineExceeded(f"no result within {timeout:g} s") from None
        finally:
            if not request.future.done():  # timed out or the client went away: drop what still waits
                request.future.cancel()
                self._purge(request)

    def _purge(self, request: _Request) -> None:
        """Drop a finished or abandoned request's waiting texts, in place (the consumer may hold a queue)."""
        for bucket in list(self._queues):
            queue = self._queues[bucket]
            kept = [item for item in queue if item.request is not request]
            for item in queue:
                if item.request is request:
                    self.backlog.remove(self._op(bucket), item.tokens)
            if len(kept) != len(queue):
                self._queued -= len(queue) - len(kept)
                queue.clear()
                queue.extend(kept)
            if not queue:
                del self._queues[bucket]

    def wake(self) -> None:
        """Let the consumer look again (a request on its way queued its texts or left)."""
        self._wake.set()

    def expected_wait(self) -> float | None:
        """Seconds new work should wait: the backlog's estimate (queued tokens / measured rate), or how long
        the oldest queued text has waited already when that is longer (the estimate lags when the service
        slows down under load). None before any batch was measured."""
        wait = self.backlog.wait()
        if wait is None:
            return None
        heads = [queue[0].queued_at for queue in self._queues.values() if queue]
        return max(wait, time.monotonic() - min(heads)) if heads else wait

    def shed(self, timeout: float) -> QueueFull | None:
        """The refusal for any new request while the backlog alone is over budget (checked before the body is
        read or tokenized); None when there is room."""
        wait = self.expected_wait()
        budget, limit = self._budget(timeout)
        if wait is not None and wait > budget:
            return QueueFull(f"expected wait {wait:.1f} s is over {budget:g} s", limit, retry_after(wait - budget))
        if self._queued >= self.max_queue:
            return self._full(1)
        return None

    def _admit(self, key: Hashable, texts: int, tokens: int, timeout: float) -> None:
        if self._queued + texts > self.max_queue:
            raise self._full(texts)
        wait = self.expected_wait()
        budget, limit = self._budget(timeout)
        if wait is not None and wait + (self.backlog.cost(key, tokens) if limit == "request_timeout" else 0) > budget:
            raise QueueFull(f"expected wait {wait:.1f} s is over {budget:g} s", limit, retry_after(wait - budget))

    def _budget(self, timeout: float) -> tuple[float, str]:
        """How long a request may expect to wait, and the limit that sets it."""
        return (self.max_queue_s, "max_queue_ms") if self.max_queue_s < timeout else (timeout, "request_timeout")

    def _full(self, wanted: int) -> QueueFull:
        rate = self._rate or 100.0
        after = retry_after((self._queued + wanted - self.max_queue) / rate)
        return QueueFull(f"{self._queued} texts are queued (limit {self.max_queue})", "max_queue", after)

    def _op(self, bucket: Hashable) -> Hashable:
        """The batch key (what `run` gets) of a queue bucket."""
        return bucket[0] if self.exact_lengths else bucket

    async def _consume(self) -> None:
        while True:
            if not self._queued:
                self._wake.clear()
                await self._wake.wait()
                continue
            key, queue = next(iter(self._queues.items()))
            await self._gather(queue)
            if self._queues.get(key) is not queue:  # purged while we waited for company
                continue
            batch = self._take(key, queue)
            if batch:
                self._busy = True
                try:
                    await self._execute(key, batch)
                finally:
                    self._busy = False

    async def _gather(self, queue: deque[_Item]) -> None:
        """Wait until the head's batch is full or the head has waited max_wait, but only while other requests
        are on their way (inside the service, not yet submitted): a lone request runs at once."""
        if not self.batching:
            return
        until = queue[0].queued_at + self.max_wait
        while (delay := until - time.monotonic()) > 0 and _padded(queue, self.max_batch_tokens) < self.max_batch_tokens:
            if self._arriving is not None and self._arriving() <= 0:
                return
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except asyncio.TimeoutError:
                return

    def _take(self, key: Hashable, queue: deque[_Item]) -> list[_Item]:
        """Pop the next batch off `queue` (skipping requests that are done or past their deadline)."""
        batch: list[_Item] = []
        longest = 0
        now = time.monotonic()
        while queue:
            item = queue[0]
            request = item.request
            if request.future.done() or now > request.deadline:
                queue.popleft()
                self._queued -= 1
                self.backlog.remove(self._op(key), item.tokens)
                if not request.future.done():
                    request.future.set_exception(DeadlineExceeded("past the request deadline before inference"))
                continue
            width = max(longest, item.tokens)
            if batch and (width * (len(batch) + 1) > self.max_batch_tokens or len(batch) == self.max_rows
                          or (not self.batching and request is not batch[0].request)):
                break
            batch.append(queue.popleft())
            self._queued -= 1
            self.backlog.remove(self._op(key), item.tokens)
            longest = width
        if not queue:
            self._queues.pop(key, None)
        elif key in self._queues:
            self._queues.move_to_end(key)  # the other keys' turn next
        return batch

    async def _execute(self, key: Hashable, batch: list[_Item]) -> None:
        batch.sort(key=lambda item: -item.tokens)
        texts = [item.text for item in batch]
        op = self._op(key)
        tokens = sum(item.tokens for item in batch)
        self.backlog.started(op, tokens)
        started = time.perf_counter()
        try:
            results = await asyncio.get_running_loop().run_in_executor(self._executor, self._run, op, texts)
        except Exception as exc:  # noqa: BLE001 - any failure goes to every request in the batch, not the loop
            for item in batch:
                if not item.request.future.done():
                    item.request.future.set_exception(exc)
            return
        seconds = time.perf_counter() - started
        self.backlog.finished(op, tokens, min(item.queued_at for item in batch))
        self._rate = 0.8 * self._rate + 0.2 * (len(batch) / max(seconds, 1e-6)) if self._rate else len(batch) / max(seconds, 1e-6)
        for item, result in zip(batch, results):
            request = item.request
            if request.future.done():
                continue
            request.results[item.index] = result
            request.remaining -= 1
            if request.remaining == 0:
                request.future.set_result(request.results)
        if self._on_batch is not None:
            self._on_batch(BatchStats(op, len(batch), len(batch) * batch[0].tokens, seconds))


def _padded(queue: deque[_Item], budget: int) -> int:
    """Padded tokens of the queue's head batch if everything queued joined it (stops counting at budget)."""
    longest = count = 0
    for item in queue:
        longest = max(longest, item.tokens)
        count += 1
        if longest * count >= budget:
            return budget
    return longest * count
