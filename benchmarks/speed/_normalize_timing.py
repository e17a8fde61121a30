"""Batch-1 `TitleNormalizer.normalize` timing shared by _encode_worker.py and profile_normalize.py."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from _common import percentile

STAGES = ("tokenize", "pad", "onnxruntime", "search", "concepts")


def latencies(normalizer: Any, titles: list[str]) -> list[float]:
    """ms of each `normalize([title], k=5)` as a user calls it, after 10 untimed warm-up calls."""
    for title in titles[:10]:
        normalizer.normalize([title])
    ms = []
    for title in titles:
        started = time.perf_counter()
        normalizer.normalize([title], k=5)
        ms.append((time.perf_counter() - started) * 1000)
    return ms


def split(normalizer: Any, titles: list[str], before: Callable[[str], None] | None = None) -> dict[str, float]:
    """Median ms per stage of a batch-1 normalize, timed stage by stage (same calls as `normalize` makes);
    `before(title)`, when given, runs untimed right before each title's stages."""
    from workvec.runtime.tokenizer import iter_batches, tokenize

    enc = normalizer.encoder
    stages: dict[str, list[float]] = {key: [] for key in STAGES}
    for title in titles:
        if before is not None:
            before(title)
        t = [time.perf_counter()]
        encodings = tokenize(enc._tokenizer, [title])
        t.append(time.perf_counter())
        feeds = next(iter_batches(encodings, 64, enc.manifest.pad_id)).feeds(enc._inputs)
        t.append(time.perf_counter())
        (vectors,) = enc._session.run(["sentence_embedding"], feeds)
        t.append(time.perf_counter())
        rows, scores = normalizer.labels.search(vectors, 20)
        t.append(time.perf_counter())
        normalizer._concepts(rows[0], scores[0], 5)
        t.append(time.perf_counter())
        for key, a, b in zip(stages, t, t[1:]):
            stages[key].append((b - a) * 1000)
    return {k: percentile(v, 50) for k, v in stages.items()}
