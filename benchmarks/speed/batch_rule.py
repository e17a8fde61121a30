"""What the encoder's batching rule (workvec.runtime.encoder.BATCHING: one token length per batch, a lone pooled
text run as a pair) costs and buys, with the shipped model at 1 thread, in one run:

- batch 1: p50 of the model run for one title as one row (the old path) vs as a pair (the rule), interleaved;
- batched sentences: the sentences of the sample ads encoded in padded length-sorted batches (the old plan) vs
  batches of one token length (the rule), interleaved;
- bit-identity: how many sentence vectors equal the text's alone under each plan.

    python benchmarks/speed/batch_rule.py      # results/batch_rule.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import RESULTS, ROOT, log  # noqa: E402

import workvec  # noqa: E402
from workvec.runtime.paths import shipped_bundle  # noqa: E402
from workvec.runtime.tokenizer import iter_batches, tokenize  # noqa: E402

TITLES = ["Senior Java Developer", "Registered Nurse", "Truck Driver (CDL-A)", "Accountant"]
ROUNDS = 300


def _p50(seconds: list[float]) -> float:
    return float(np.median(seconds)) * 1000


def _feeds(encoder, texts: list[str], *, exact: bool) -> list[tuple[np.ndarray, dict]]:
    encodings = tokenize(encoder._tokenizer, texts)
    return [(batch.order, batch.feeds(encoder._inputs))
            for batch in iter_batches(encodings, 64, encoder.manifest.pad_id, exact=exact)]


def _vectors(encoder, plan, count: int) -> np.ndarray:
    out = np.zeros((count, encoder.dim), np.float32)
    for order, feeds in plan:
        if len(order) == 1:
            feeds = {k: np.repeat(v, 2, axis=0) for k, v in feeds.items()}
        out[order] = encoder._session.run(["sentence_embedding"], feeds)[0][: len(order)]
    return out


def main() -> None:
    encoder = workvec.Encoder.open(shipped_bundle(), threads=1)
    session = encoder._session
    single, pair = [], []
    for title in TITLES:
        (_, feeds), = _feeds(encoder, [title], exact=True)
        doubled = {k: np.repeat(v, 2, axis=0) for k, v in feeds.items()}
        for _ in range(20):
            session.run(["sentence_embedding"], feeds), session.run(["sentence_embedding"], doubled)
        for _ in range(ROUNDS):
            start = time.perf_counter()
            session.run(["sentence_embedding"], feeds)
            single.append(time.perf_counter() - start)
            start = time.perf_counter()
            session.run(["sentence_embedding"], doubled)
            pair.append(time.perf_counter() - start)
    ads = [json.loads(line)["text"] for line in (ROOT / "tests/fixtures/ads-sample.jsonl").read_text().splitlines()]
    sentences = list(dict.fromkeys(s.text for ad in ads for s in workvec.split_sentences(ad)))
    padded, exact = _feeds(encoder, sentences, exact=False), _feeds(encoder, sentences, exact=True)
    alone = np.stack([encoder.encode([s])[0] for s in sentences])
    times = {"padded": [], "exact": []}
    for _ in range(15):
        for name, plan in (("padded", padded), ("exact", exact)):
            start = time.perf_counter()
            got = _vectors(encoder, plan, len(sentences))
            times[name].append(time.perf_counter() - start)
    result = {
        "batch1_p50_ms": {"one_row": round(_p50(single), 3), "pair": round(_p50(pair), 3),
                          "ratio": round(_p50(pair) / _p50(single), 2)},
        "sentences": len(sentences),
        "batched_p50_ms": {name: round(_p50(t), 2) for name, t in times.items()},
        "batched_ratio_exact_vs_padded": round(_p50(times["exact"]) / _p50(times["padded"]), 2),
        "identical_to_alone": {name: int(sum(np.array_equal(a, b) for a, b in
                                             zip(alone, _vectors(encoder, plan, len(sentences)))))
                               for name, plan in (("padded", padded), ("exact", exact))},
        "batches": {"padded": len(padded), "exact": len(exact)},
    }
    del got
    log(json.dumps(result))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "batch_rule.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
