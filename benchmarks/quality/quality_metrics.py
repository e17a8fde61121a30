"""Metrics and the report table of benchmarks/quality/quality.py (ranks, MRR, RP@K / R@K, deltas to the reference)."""

from __future__ import annotations

import numpy as np

SKILL_KEYS = ("MRR", "RP@1", "RP@5", "RP@10")
TITLE_KEYS = ("MRR", "R@1", "R@5", "R@10")
KS = (1, 5, 10)


def ranks_of(scores: np.ndarray, items) -> np.ndarray:
    """1-based ranks of `items` in `scores` under a stable descending sort (ties: lower index first)."""
    items = np.asarray(items, dtype=np.int64)
    s = scores[items][:, None]
    before = (scores[None, :] > s).sum(1) + ((scores[None, :] == s) & (np.arange(len(scores)) < items[:, None])).sum(1)
    return before + 1


class Metrics:
    """Running per-query metric sums."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys, self.sums, self.n = keys, dict.fromkeys(keys, 0.0), 0

    def add_skill(self, scores: np.ndarray, relevant) -> None:
        ranks = ranks_of(scores, relevant)
        values = [1.0 / ranks.min()] + [float((ranks <= k).sum()) / min(k, len(ranks)) for k in KS]
        self._add(values)

    def add_title(self, scores: np.ndarray, target: int) -> None:
        rank = int(ranks_of(scores, [target])[0])
        self._add([1.0 / rank] + [100.0 * (rank <= k) for k in KS])

    def _add(self, values) -> None:
        for key, v in zip(self.keys, values):
            self.sums[key] += v
        self.n += 1

    def summary(self) -> dict:
        return {**{k: round(float(v) / max(self.n, 1), 6) for k, v in self.sums.items()}, "n": self.n}


def deltas(datasets: dict) -> dict:
    """Per dataset and non-reference variant: metric minus the reference's."""
    out = {}
    for name, by_variant in datasets.items():
        ref = by_variant.get("reference")
        if ref:
            out[name] = {v: {k: round(m[k] - ref[k], 6) for k in m if k != "n"} for v, m in by_variant.items()
                         if v != "reference"}
    return out


def _fmt(key: str, value: float, sign: str = "") -> str:
    """MRR and RP@K are fractions (3 decimals); title R@K are percentages (1 decimal)."""
    return f"{value:{sign}.1f}" if key.startswith("R@") else f"{value:{sign}.3f}"


def markdown(report: dict) -> str:
    """One row per (dataset, variant); differences to the reference in parentheses."""
    keys = SKILL_KEYS if report["task"] == "skills" else TITLE_KEYS
    lines = ["| dataset | variant | n | " + " | ".join(keys) + " |", "|---|---|---:|" + "---:|" * len(keys)]
    for name, by_variant in report["datasets"].items():
        for variant, m in by_variant.items():
            delta = report["delta"].get(name, {}).get(variant, {})
            cells = [_fmt(k, m[k]) + (f" ({_fmt(k, delta[k], '+')})" if k in delta else "") for k in keys]
            lines.append(f"| {name} | {variant} | {m['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
