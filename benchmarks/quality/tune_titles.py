"""Titles: MRR of title cleaning on JobBERT validation, and the calibrated no-match floor.

Exact scoring (every label, a concept by its best label) with the int8 title bundle, the product's default
precision, over an embedded taxonomy (default esco-occupations: preferred + alternative labels), for
cleaning variants: none, full (workvec.runtime.title_clean.clean_title), full without the seniority rule, and
the product's (full, and a concept's best score over the title with and without a trailing qualifier in brackets:
workvec.runtime.title_job.title_queries). The no-match floor is calibrated on the product's best concept score of
JobBERT validation titles against
benchmarks/quality/data/non_titles.txt: the floor maximising balanced accuracy (titles kept above it, non-titles
below), limited to flagging at most MAX_FLAGGED of the real titles.

    python benchmarks/quality/tune_titles.py --bundle DIR [--taxonomy esco-occupations] [--json OUT]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared _common helpers
import quality_data as qd
from _common import SHARED, log, write_json
from quality_assets import cached_vectors
from quality_metrics import TITLE_KEYS, Metrics

NON_TITLES = Path(__file__).resolve().parent / "data" / "non_titles.txt"
MAX_FLAGGED = 0.05


def read_non_titles(path: Path = NON_TITLES) -> list[str]:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def concept_scores(vecs: np.ndarray, label_vecs: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(n, concepts) best-label cosine per concept, in chunks."""
    out = np.zeros((len(vecs), len(starts)), np.float32)
    for lo in range(0, len(vecs), 512):
        out[lo:lo + 512] = np.maximum.reduceat(vecs[lo:lo + 512] @ label_vecs.T, starts, axis=1)
    return out


def calibrate(title_best: np.ndarray, non_best: np.ndarray) -> dict:
    """The floor with the best balanced accuracy among those flagging at most MAX_FLAGGED of real titles."""
    rows = []
    for floor in np.round(np.arange(0.30, 0.80, 0.005), 3):
        flagged = float((title_best < floor).mean())
        caught = float((non_best < floor).mean())
        rows.append({"floor": float(floor), "titles_flagged": round(flagged, 4), "non_titles_caught": round(caught, 4),
                     "balanced_accuracy": round((1 - flagged + caught) / 2, 4)})
    ok = [r for r in rows if r["titles_flagged"] <= MAX_FLAGGED]
    return {"chosen": max(ok, key=lambda r: (r["balanced_accuracy"], -r["floor"])), "grid": rows}


def main(argv=None) -> int:
    from workvec.runtime import title_clean
    from workvec.runtime.encoder import Encoder
    from workvec.runtime.taxonomy import load_taxonomy
    from workvec.runtime.title_job import title_queries

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", required=True, type=Path)
    parser.add_argument("--taxonomy", default="esco-occupations")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    shared = SHARED / "data" if (SHARED / "data").is_dir() else SHARED
    taxonomy = load_taxonomy(args.taxonomy)
    queries, counts = qd.load_titles(shared / "bench" / "jobbert" / "titles.validation.csv", taxonomy)
    log(f"{len(queries)} titles; {counts}")
    enc = Encoder.open(args.bundle, precision="int8", providers="cpu")
    labels, owners = taxonomy.labels(include_alt=True)
    owners = np.asarray(owners)
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    encode = lambda texts: enc.encode(texts, batch_size=128)
    unit = lambda x: x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    label_vecs = unit(cached_vectors(["tune_titles", enc.manifest.identity(), "int8"], labels, encode))
    no_seniority = re.compile(r"(?!x)x")  # matches nothing
    variants = {"none": lambda t: t, "clean": title_clean.clean_title}

    def clean_keep_seniority(t: str) -> str:
        saved, title_clean._SENIORITY = title_clean._SENIORITY, no_seniority
        try:
            return title_clean.clean_title(t)
        finally:
            title_clean._SENIORITY = saved
    variants["clean-keep-seniority"] = clean_keep_seniority
    variants["clean+bare"] = title_clean.clean_title  # the product: also without a trailing "(...)", best of both
    report: dict = {"taxonomy": args.taxonomy, "labels": len(labels), "titles": len(queries), "variants": {}}
    best_scores = {}

    def product_scores(texts: list[str], bare: bool) -> np.ndarray:
        """Concept scores per title; with `bare` each concept's best over title_job.title_queries' texts."""
        groups = title_queries(texts) if bare else [(t,) for t in texts]
        flat = [t for g in groups for t in g]
        scores = concept_scores(unit(cached_vectors(["tune_titles", enc.manifest.identity(), "int8"], flat, encode)),
                                label_vecs, starts)
        return np.maximum.reduceat(scores, np.cumsum([0] + [len(g) for g in groups[:-1]]), axis=0)

    for name, fn in variants.items():
        texts = [fn(q.title) for q in queries]
        changed = sum(t != q.title for t, q in zip(texts, queries))
        scores = product_scores(texts, bare=name == "clean+bare")
        metrics = Metrics(TITLE_KEYS)
        for row, q in zip(scores, queries):
            metrics.add_title(row, q.target)
        best_scores[name] = scores.max(axis=1)
        report["variants"][name] = {**metrics.summary(), "changed_titles": changed}
        log(f"{name}: {report['variants'][name]}")
    non_titles = read_non_titles()
    non_best = product_scores([title_clean.clean_title(t) for t in non_titles], bare=True).max(axis=1)
    report["no_match"] = {"non_titles": len(non_titles), **calibrate(best_scores["clean+bare"], non_best)}
    log(f"no-match floor: {report['no_match']['chosen']}")
    if args.json:
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
