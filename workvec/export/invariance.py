"""Batch invariance: a text's vectors must not depend on its batch, its neighbours or the thread count.

Every probe is encoded alone at one thread (the reference), then inside padded batches of other sizes with
short and long neighbours (other probes and texts disjoint from them), at each thread count, through the same
onnxruntime session settings the runtime uses. The batches are built directly, not through the runtime's
length grouping, so short probes do sit next to long neighbours and their padding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workvec.export.parity import cosines
from workvec.runtime.session import CPU, create_session
from workvec.runtime.tokenizer import load_tokenizer, pad, tokenize

__all__ = ["SIZES", "THREADS", "Neighbours", "measure", "neighbour_texts"]

SIZES = (1, 8, 64)
THREADS = (1, 2)
SEED = 9


@dataclass(frozen=True)
class Neighbours:
    """Texts that share batches with the probes: short (1-3 words) and long (two job-ad sentences each)."""

    short: tuple[str, ...]
    long: tuple[str, ...]


def neighbour_texts(n: int = 64) -> Neighbours:
    """Neighbours from the smoothing calibration texts (disjoint from the parity probes)."""
    from workvec.export.smooth import calibration_texts

    texts = calibration_texts()
    short = [t for t in texts if len(t.split()) <= 3][:n]
    sentences = [t for t in texts if len(t.split()) > 8]
    long = [" ".join(sentences[i:i + 2]) for i in range(0, 2 * n, 2) if sentences[i:i + 2]]
    return Neighbours(tuple(short), tuple(long[:n]))


def _batches(n_probes: int, n_neighbours: int, size: int, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """(probe indices, neighbour indices) per batch: half probes, half neighbours, in shuffled positions
    (probe i is `i`, neighbour j is `n_probes + j`)."""
    if size == 1:
        return [(np.array([i]), np.array([i])) for i in range(n_probes)]
    half = max(1, size // 2)
    out = []
    for start in range(0, n_probes, half):
        probes = np.arange(start, min(start + half, n_probes))
        others = n_probes + rng.choice(n_neighbours, size - len(probes), replace=size - len(probes) > n_neighbours)
        order = rng.permutation(np.concatenate([probes, others]))
        out.append((probes, order))
    return out


def measure(model: Path, tokenizer_file: Path, *, max_seq_length: int, pad_id: int, probes: list[str],
            tokens: bool, neighbours: Neighbours | None = None, sizes: tuple[int, ...] = SIZES,
            threads: tuple[int, ...] = THREADS) -> dict[str, Any]:
    """Compare every probe alone (1 thread) with the same probe in mixed batches; worst cases over all."""
    neighbours = neighbours or neighbour_texts()
    tokenizer = load_tokenizer(tokenizer_file, max_seq_length)
    outputs = ["sentence_embedding"] + (["token_embeddings"] if tokens else [])
    pools = {"short": list(neighbours.short), "long": list(neighbours.long)}
    encodings = {kind: tokenize(tokenizer, list(probes) + texts) for kind, texts in pools.items()}
    sessions = {t: create_session(model, [CPU], t) for t in threads}
    inputs = [i.name for i in sessions[threads[0]].get_inputs()]

    def run(session, kind: str, order: np.ndarray) -> list[np.ndarray]:
        batch = pad(encodings[kind], order, pad_id)
        return session.run(outputs, batch.feeds(inputs))

    alone = [run(sessions[threads[0]], "short", np.array([i])) for i in range(len(probes))]
    worst = _Worst()
    rng = np.random.default_rng(SEED)
    for t in threads:
        for size in sizes:
            for kind in ("short", "long") if size > 1 else ("short",):
                if size == 1 and t == threads[0]:
                    continue  # the reference itself
                for probe_idx, order in _batches(len(probes), len(pools[kind]), size, rng):
                    got = run(sessions[t], kind, order)
                    rows = {int(i): r for r, i in enumerate(order)}
                    for i in probe_idx:
                        worst.add(alone[i], got, rows[int(i)])
    return worst.report(sizes, threads, tokens)


class _Worst:
    """Running worst case of the comparisons."""

    def __init__(self) -> None:
        self.cos, self.diff, self.tok_cos, self.tok_diff = 1.0, 0.0, 1.0, 0.0
        self.compared = self.identical = 0

    def add(self, ref: list[np.ndarray], got: list[np.ndarray], row: int) -> None:
        a, b = ref[0][0], got[0][row]
        same = np.array_equal(a, b)
        self.cos = min(self.cos, cosines(a[None], b[None]).min())
        self.diff = max(self.diff, float(np.abs(a - b).max()))
        if len(ref) > 1:
            n = ref[1].shape[1]
            ta, tb = ref[1][0], got[1][row, :n]
            same = same and np.array_equal(ta, tb)
            self.tok_cos = min(self.tok_cos, cosines(ta, tb).min())
            self.tok_diff = max(self.tok_diff, float(np.abs(ta - tb).max()))
        self.compared += 1
        self.identical += bool(same)

    def report(self, sizes: tuple[int, ...], threads: tuple[int, ...], tokens: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"min_cosine": float(self.cos), "max_abs_diff": self.diff,
                               "bit_identical": self.identical == self.compared,
                               "identical_share": self.identical / max(self.compared, 1),
                               "compared": self.compared, "sizes": list(sizes), "threads": list(threads),
                               "neighbours": ["short", "long"]}
        if tokens:
            out.update(token_min_cosine=float(self.tok_cos), token_max_abs_diff=self.tok_diff)
        return out
