"""Overload shedding against a real server: a burst far past the service rate gets 429s at admission."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install 'workvec[serve]')")
httpx = pytest.importorskip("httpx", reason="httpx (the dev extra) is not installed")
pytest.importorskip("uvicorn")

from serve_support import KEY, running, serve_args

LONG = " ".join(f"senior software engineer number {i} with cloud platform experience" for i in range(8))
BURST, TEXTS = 40, 128


async def _burst(url: str) -> list[httpx.Response]:
    """BURST requests at once, each TEXTS long texts: seconds of work against a 50 ms admission budget."""
    body = {"input": [LONG] * TEXTS, "model": "title"}
    limits = httpx.Limits(max_connections=BURST)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60,
                                 limits=limits) as c:
        return await asyncio.gather(*(c.post("/v1/embeddings", json=body) for _ in range(BURST)))


def test_burst_sheds_with_429_and_recovers(tmp_path):
    """Admission refuses what would wait past --max-queue-ms (429, Retry-After, JSON naming the limit) while
    --max-queue alone would take it all; the server stays up and answers as before afterwards."""
    args = serve_args(tmp_path, "--max-queue-ms", "50", "--request-timeout-s", "30", "--max-queue", "100000",
                      "--max-texts", "256", "--max-wait-ms", "2", skills=False)
    probe = {"input": ["registered nurse", "truck driver"], "model": "title"}
    with running(args, tmp_path) as srv, srv.client() as c:
        before = c.post("/v1/embeddings", json=probe)  # also measures the service rate
        assert before.status_code == 200
        answers = asyncio.run(_burst(srv.url))
        codes = [r.status_code for r in answers]
        shed = [r for r in answers if r.status_code == 429]
        assert shed, f"no 429 in a burst of {BURST} x {TEXTS} texts: codes {codes}"
        assert 200 in codes, f"nothing was served during the burst: codes {codes}"
        assert set(codes) <= {200, 429, 503}, codes
        for r in shed:
            error = r.json()["error"]
            assert error["status"] == 429 and error["limit"] == "max_queue_ms", error
            assert "--max-queue-ms" in error["message"]
            assert 1 <= int(r.headers["retry-after"]) <= 60
        assert srv.process.poll() is None, "the server died under the burst"
        after = c.post("/v1/embeddings", json=probe)
        assert after.status_code == 200, after.text
        got, want = ([d["embedding"] for d in r.json()["data"]] for r in (after, before))
        assert np.array_equal(np.asarray(got), np.asarray(want)), "the answer changed after the burst"
        metrics = c.get("/metrics").text
        line = next(x for x in metrics.splitlines() if x.startswith('workvec_rejected_total{limit="max_queue_ms"}'))
        assert float(line.split()[-1]) == len(shed)


def test_backlog_expected_wait():
    """Expected wait = queued tokens / measured rate (per key, unknown keys borrow the mean) + the batch in flight."""
    from workvec.serve.admission import Backlog, retry_after

    b = Backlog(alpha=0.5)
    b.add("a", 1000)
    assert b.wait(now=0.0) is None  # nothing measured: admit
    b.started("a", 100, now=0.0)
    b.remove("a", 100)
    b.finished("a", 100, first_queued=0.0, now=0.1)  # 1000 tokens/s
    assert b.wait(now=0.1) == pytest.approx(0.9)
    b.add("b", 500)  # unmeasured key: the mean rate
    assert b.wait(now=0.1) == pytest.approx(1.4)
    b.started("a", 200, now=0.1)  # in flight until 0.3
    b.remove("a", 200)
    assert b.wait(now=0.2) == pytest.approx(0.7 + 0.5 + 0.1)
    b.finished("a", 200, first_queued=0.05, now=0.3)  # 200 tokens in 0.2 s since the last batch: 1000/s
    assert b.rates["a"] == pytest.approx(1000.0)
    assert (retry_after(0.01), retry_after(2.2), retry_after(1e6)) == (1, 3, 60)


def test_admission_counts_how_long_the_oldest_text_has_waited():
    """When the service slows down, the rate estimate lags; the oldest queued text's wait so far bounds the
    expected wait from below, so admission refuses once texts already wait past the budget."""
    import time

    from workvec.serve.batcher import Batcher

    async def scenario() -> None:
        b = Batcher(lambda key, texts: texts, max_batch_tokens=64, max_wait_ms=1, max_queue=10, max_queue_s=0.05)
        assert b.expected_wait() is None and b.shed(5.0) is None
        now = time.monotonic()
        b.backlog.finished("k", 1000, first_queued=now - 1.0, now=now)  # measured: 1,000 tokens/s
        waiting = asyncio.ensure_future(b.submit("k", ["x"], [5], timeout=5.0))  # no consumer: it stays queued
        await asyncio.sleep(0.01)
        assert b.backlog.wait() < 0.05 and b.shed(5.0) is None  # 5 tokens: 5 ms by the estimate
        await asyncio.sleep(0.2)
        assert b.expected_wait() >= 0.2
        refusal = b.shed(5.0)
        assert refusal is not None and refusal.limit == "max_queue_ms"
        waiting.cancel()

    asyncio.run(scenario())


def test_a_lone_request_does_not_wait_for_company():
    """With nobody else on the way, the batch runs at once (a 60 s --max-wait-ms would hang the test); with
    one more request on its way (inside the service, texts not queued yet), the first waits for it and both
    share one batch."""
    from workvec.serve.batcher import Batcher

    async def scenario(on_the_way: int) -> list:
        batches: list = []
        arriving = [on_the_way]
        b = Batcher(lambda key, texts: texts, max_batch_tokens=64, max_wait_ms=60_000, max_queue=10,
                    on_batch=batches.append, arriving=lambda: arriving[0])
        b.start()
        first = asyncio.ensure_future(b.submit("k", ["a"], [3], timeout=30.0))
        await asyncio.sleep(0.05)
        arriving[0] = 0  # the one on its way queues its texts now
        second = asyncio.ensure_future(b.submit("k", ["b"], [3], timeout=30.0))
        assert await asyncio.wait_for(asyncio.gather(first, second), 10) == [["a"], ["b"]]
        await b.stop()
        return [stats.texts for stats in batches]

    assert asyncio.run(scenario(on_the_way=0)) == [1, 1]
    assert asyncio.run(scenario(on_the_way=1)) == [2]
