#!/usr/bin/env python3
"""Train the requirement-sentence filter (workvec/runtime/requirement.py) for one skill bundle.

Data: SkillSpan (Zhang et al. 2022; $WORKVEC_SHARED/corpus/skillspan/json): a sentence is a requirement when
it holds any skill or knowledge span. Train on `train` (minus every sentence that also occurs in SkillSpan dev
or test, where the HOUSE/TECH validation and test sentences come from), choose the regularisation and the
threshold on `dev`, report AUC on `test` (never used for a choice).

Features: the L2-normalised mean of the bundle's token vectors (its own mean pooling), per precision (int8 and
fp32 weights are fitted separately: int8 vectors differ slightly). Model: scikit-learn LogisticRegression
(training only; the runtime scores it in numpy). Threshold: the highest whose dev recall of requirement
sentences is at least --keep (default 0.95), so that at most 5% of real requirements are skipped.

    python scripts/train_requirement_filter.py --bundle DIR [--out FILE] [--keep 0.95]

Writes workvec/runtime/data/requirement-<model sha256[:12]>.json (or --out) and prints the dev/test figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("WORKVEC_SHARED", ROOT.parent / "shared" / "data"))
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)


def load_split(name: str) -> tuple[list[str], np.ndarray]:
    """Sentences (tokens joined by spaces) and labels (1: any skill or knowledge span) of one SkillSpan split."""
    texts, labels = [], []
    with open(SHARED / "corpus" / "skillspan" / "json" / f"{name}.json", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            texts.append(" ".join(row["tokens"]))
            labels.append(int(any(t != "O" for t in (*row["tags_skill"], *row["tags_knowledge"]))))
    return texts, np.asarray(labels)


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney, ties counted half)."""
    from scipy.stats import rankdata

    ranks = rankdata(p)
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def threshold_for(y: np.ndarray, p: np.ndarray, keep: float) -> float:
    """The highest threshold whose recall of positives is >= keep."""
    pos = np.sort(p[y == 1])
    return float(pos[int(np.floor((1 - keep) * len(pos)))])


def fit(x_train, y_train, x_dev, y_dev, keep: float) -> dict:
    """Pick C by dev AUC; return the weights, threshold and dev figures."""
    from sklearn.linear_model import LogisticRegression

    best = None
    for c in C_GRID:
        model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(x_train, y_train)
        p_dev = model.predict_proba(x_dev)[:, 1]
        score = auc(y_dev, p_dev)
        print(f"  C={c}: dev AUC {score:.4f}", file=sys.stderr)
        if best is None or score > best[0]:
            best = (score, c, model, p_dev)
    score, c, model, p_dev = best
    t = threshold_for(y_dev, p_dev, keep)
    kept = p_dev >= t
    return {"weights": [round(float(w), 7) for w in model.coef_[0]], "bias": round(float(model.intercept_[0]), 7),
            "threshold": round(t, 6), "C": c,
            "dev": {"auc": round(score, 4), "recall": round(float(kept[y_dev == 1].mean()), 4),
                    "negatives_kept": round(float(kept[y_dev == 0].mean()), 4)}}


def probabilities(entry: dict, x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(x @ np.asarray(entry["weights"]) + entry["bias"])))


def main(argv=None) -> int:
    from workvec.runtime.encoder import Encoder
    from workvec.runtime.requirement import packaged_path, payload_sha256, sentence_features

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", required=True, type=Path, help="skill bundle directory")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--keep", type=float, default=0.95, help="dev recall of requirement sentences to keep")
    parser.add_argument("--precisions", default="int8,fp32")
    args = parser.parse_args(argv)
    splits = {name: load_split(name) for name in ("train", "dev", "test")}
    held_out = set(splits["dev"][0]) | set(splits["test"][0])
    train_keep = np.asarray([t not in held_out for t in splits["train"][0]])
    print(f"train {int(train_keep.sum())} sentences ({int((~train_keep).sum())} also in dev/test dropped), "
          f"dev {len(splits['dev'][0])}, test {len(splits['test'][0])}", file=sys.stderr)
    models, report, model_sha = {}, {}, None
    for precision in args.precisions.split(","):
        enc = Encoder.open(args.bundle, precision=precision, providers="cpu")
        model_sha = enc.manifest.files["model.onnx"]["sha256"]
        feats = {name: sentence_features([e.vectors for e in enc.encode_tokens(texts, batch_size=64)])
                 for name, (texts, _) in splits.items()}
        print(f"{precision}: encoded", file=sys.stderr)
        entry = fit(feats["train"][train_keep], splits["train"][1][train_keep], feats["dev"], splits["dev"][1], args.keep)
        y_test, p_test = splits["test"][1], probabilities(entry, feats["test"])
        kept = p_test >= entry["threshold"]
        entry["test"] = {"auc": round(auc(y_test, p_test), 4), "recall": round(float(kept[y_test == 1].mean()), 4),
                         "negatives_kept": round(float(kept[y_test == 0].mean()), 4)}
        report[precision] = {k: entry[k] for k in ("C", "threshold", "dev", "test")}
        models[precision] = {k: entry[k] for k in ("weights", "bias", "threshold", "C", "dev", "test")}
    payload = {
        "format": 1,
        "kind": "requirement-filter",
        "encoder": {"model_sha256": model_sha, "bundle_name": args.bundle.resolve().name},
        "features": "L2-normalised mean of token vectors (special tokens included)",
        "training": {"data": "SkillSpan json train (dev/test sentences removed); C and threshold on dev",
                     "license": "SkillSpan: MIT, Copyright (c) 2023 Mike Zhang", "keep": args.keep},
        "models": models,
    }
    payload["sha256"] = payload_sha256(payload)
    out = args.out or packaged_path(model_sha)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
