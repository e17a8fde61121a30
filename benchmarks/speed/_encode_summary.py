"""encode_speed.py's measurements: one child's Measure, medians per variant, fidelity against ST torch's vectors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _common import median

TOP = 10  # fidelity: neighbours compared per query
MEASURES = ("titles_per_s", "sentences_per_s", "p50_ms", "p95_ms", "peak_rss_mib", "import_s", "load_s", "cpu_per_wall")


@dataclass(frozen=True)
class Measure:
    """What one child process measured for one (model, variant, threads)."""

    model: str
    variant: str
    threads: int
    titles_per_s: float
    sentences_per_s: float
    p50_ms: float
    p95_ms: float
    peak_rss_mib: float
    import_s: float
    load_s: float
    cpu_per_wall: float
    dim: int
    checks: dict[str, Any]
    normalize: dict[str, Any]


def summarise(measures: list[Measure], workdir: Path) -> list[dict[str, Any]]:
    """Median of every measure per (model, variant, threads), plus agreement with ST torch's vectors."""
    keys = list(dict.fromkeys((m.model, m.variant, m.threads) for m in measures))
    rows = []
    for key in keys:
        runs = [m for m in measures if (m.model, m.variant, m.threads) == key]
        row = {"model": key[0], "variant": key[1], "threads": key[2], "reps": len(runs), "dim": runs[0].dim,
               **{k: median([getattr(m, k) for m in runs]) for k in MEASURES}, "checks": runs[0].checks,
               "normalize": _normalize_medians([m.normalize for m in runs])}
        row.update(fidelity(workdir, *key))
        row["min_cos_vs_st_torch"] = row.get("fidelity", {}).get("min_cos")
        rows.append(row)
    return rows


def _normalize_medians(found: list[dict[str, Any]]) -> dict[str, Any]:
    """Per taxonomy, the median over repetitions of p50 / p95 and of each stage of the split."""
    out: dict[str, Any] = {}
    for taxonomy in found[0] if found else {}:
        runs = [f[taxonomy] for f in found if taxonomy in f]
        out[taxonomy] = {**{k: runs[0][k] for k in ("labels", "index", "calls")},
                         **{k: median([r[k] for r in runs]) for k in ("p50_ms", "p95_ms")},
                         "split_ms": {s: median([r["split_ms"][s] for r in runs]) for s in runs[0]["split_ms"]}}
    return out


def fidelity(workdir: Path, model: str, variant: str, threads: int) -> dict[str, Any]:
    """Agreement with sentence-transformers torch on the same texts (the timed runs' vectors): mean and min cosine
    over titles and sentences, and top-10 overlap: per query (every sentence, and the first 256 titles), its 10
    nearest titles (itself excluded) by this variant's vectors vs by torch's."""
    mine, ref = (workdir / f"{model}-{v}-{threads}.npz" for v in (variant, "st-torch"))
    if not (mine.is_file() and ref.is_file()):
        return {}
    a, b = np.load(mine), np.load(ref)
    if a["titles"].shape != b["titles"].shape:  # the dims in the table show which variant differs
        return {"fidelity": {"note": f"shape {a['titles'].shape} vs ST torch {b['titles'].shape}"}}
    unit = lambda x: x.astype(np.float64) / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)  # noqa: E731
    cos = np.concatenate([np.sum(unit(a[k]) * unit(b[k]), 1) for k in ("titles", "sentences")])
    overlaps = []
    for vectors in (a, b):
        titles = unit(vectors["titles"])
        queries = np.concatenate([unit(vectors["sentences"]), titles[:256]])
        scores = queries @ titles.T
        n_sent = len(vectors["sentences"])
        scores[np.arange(n_sent, len(queries)), np.arange(len(queries) - n_sent)] = -np.inf  # a title is not its own neighbour
        overlaps.append(np.argsort(-scores, axis=1, kind="stable")[:, :TOP])
    top = np.mean([len(set(x) & set(y)) / TOP for x, y in zip(*overlaps)])
    return {"fidelity": {"mean_cos": float(cos.mean()), "min_cos": float(cos.min()), "top10_overlap": float(top),
                         "texts": int(len(cos)), "queries": int(len(overlaps[0]))}}
