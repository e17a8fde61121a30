"""Calibrate SkillExtractor's default threshold on the HOUSE + TECH validation splits.

For every distinct validation sentence the product path (int8 bundle, HNSW candidates, exact ConTeXT-match)
scores the embedded ESCO skills; a threshold keeps the top-k skills scoring at or above it. We report micro
precision / recall / F1 of those kept skills against the gold labels over a threshold grid and pick the F1 best.

    python benchmarks/quality/calibrate_threshold.py --bundle DIR [--top-k 5] [--json OUT]
"""

from __future__ import annotations

import sys
import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared _common helpers
from _common import SHARED_DATA
from workvec.runtime.encoder import Encoder
from workvec.runtime.labels import LabelIndex
from workvec.runtime.skills import ExtractSettings, SkillExtractor
from workvec.runtime.taxonomy import load_taxonomy
from workvec.runtime.vector_index import IndexSpec

DATA = SHARED_DATA / "bench" / "skillspan_esco"
DROP = {"LABEL NOT PRESENT", "UNDERSPECIFIED"}


def gold(files: list[Path]) -> dict[str, set[str]]:
    """Sentence -> gold preferred labels (workrb protocol: stripped, placeholder labels dropped)."""
    out: dict[str, set[str]] = defaultdict(set)
    for path in files:
        with open(path, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                label = (row.get("label") or "").strip()
                if label and label not in DROP:
                    out[row["sentence"]].add(label)
    return dict(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", required=True, help="skill bundle directory")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--index-dir", default=".bench-cache/indexes")
    parser.add_argument("--json")
    args = parser.parse_args()
    truth = gold([DATA / "house_validation_annotations.csv", DATA / "tech_validation_annotations.csv"])
    encoder = Encoder.open(args.bundle, precision="int8", providers="cpu", threads=1)
    index = LabelIndex.open(encoder, load_taxonomy("esco-skills"), index_dir=args.index_dir, include_alt=False,
                            spec=IndexSpec(mode="hnsw"), progress=False)
    extractor = SkillExtractor(encoder, index, ExtractSettings(threshold=0.0, k=args.top_k))
    known = {c.label for c in index.taxonomy.concepts}
    sentences = [s for s, labels in truth.items() if labels & known]
    ranked: list[list[tuple[float, str]]] = []
    for sentence, tokens in zip(sentences, (t.vectors for t in encoder.encode_tokens(sentences))):
        rows, scores = extractor.score_sentence_tokens(tokens)
        best: dict[str, float] = {}
        for r, s in zip(rows, scores):
            label = index.taxonomy.concepts[int(index.owners[r])].label
            best[label] = max(best.get(label, -1.0), float(s))
        ranked.append(sorted(((s, l) for l, s in best.items()), reverse=True)[: args.top_k])
    rows_out = []
    for t in np.round(np.arange(0.30, 0.86, 0.01), 2):
        tp = fp = fn = 0
        for sentence, preds in zip(sentences, ranked):
            kept = {l for s, l in preds if s >= t}
            g = truth[sentence] & known
            tp += len(kept & g)
            fp += len(kept - g)
            fn += len(g - kept)
        p = tp / max(tp + fp, 1)
        r = tp / max(tp + fn, 1)
        f1 = 2 * p * r / max(p + r, 1e-12)
        rows_out.append({"threshold": float(t), "precision": p, "recall": r, "f1": f1, "kept": tp + fp})
    best_row = max(rows_out, key=lambda x: x["f1"])
    print(f"{len(sentences)} validation sentences, top-k {args.top_k}")
    print("| threshold | precision | recall | F1 | skills kept |\n|---|---|---|---|---|")
    for row in rows_out[::5] + [best_row]:
        print(f"| {row['threshold']:.2f} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {row['kept']} |")
    print(f"best F1 at threshold {best_row['threshold']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"sentences": len(sentences), "grid": rows_out, "best": best_row}, indent=1))


if __name__ == "__main__":
    main()
