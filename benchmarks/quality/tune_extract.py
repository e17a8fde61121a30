"""Tune skill-extraction output on validation: threshold, requirement filter, grouping, cap.

Scores every sentence once on the product path (int8 skill bundle, embedded esco-skills, exact ConTeXT-match:
SkillExtractor.score_sentence_tokens), keeps the candidates >= FLOOR with the token vectors, then replays
workvec.runtime.shaping.shape_sentence and the requirement filter for each setting of a grid. Reads
HOUSE+TECH validation (P/R/F1) and SkillSpan dev boilerplate (FP rate) only; `--split test` replays chosen
settings on the test splits for the report (never for choosing).

    python benchmarks/quality/tune_extract.py --bundle DIR [--split validation|test] [--json OUT]
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared _common helpers
from _common import CACHE, SHARED, log, write_json  # noqa: E402
from quality_extract import fp_rate, load_extract_data, prf  # noqa: E402

FLOOR = 0.5


@dataclass
class Scored:
    """One sentence's product-path scores above FLOOR, with what shaping needs."""

    sentence: str
    tokens: np.ndarray
    offsets: np.ndarray
    rows: np.ndarray
    scores: np.ndarray


def score_all(extractor, sentences: list[str]) -> list[Scored]:
    enc = extractor.encoder
    out = []
    for lo in range(0, len(sentences), 64):
        chunk = sentences[lo:lo + 64]
        for s, e in zip(chunk, enc.encode_tokens(chunk)):
            rows, scores = extractor.score_sentence_tokens(e.vectors)
            keep = scores >= FLOOR
            out.append(Scored(s, e.vectors, e.offsets, rows[keep], scores[keep]))
    return out


def cached_scores(extractor, name: str, sentences: list[str]) -> list[Scored]:
    key = f"{extractor.encoder.manifest.identity()[:12]}-{extractor.encoder.info.precision}-{name}-{len(sentences)}"
    path = CACHE / "tune_extract" / f"{key}.pkl"
    if path.is_file():
        return pickle.loads(path.read_bytes())
    started = time.perf_counter()
    scored = score_all(extractor, sentences)
    log(f"scored {name}: {len(sentences)} sentences in {time.perf_counter() - started:.0f} s")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(scored))
    return scored


def predict(scored: list[Scored], labels, settings, keep: np.ndarray | None) -> list[set[str]]:
    """Top-level concept labels per sentence under `settings`; filtered sentences predict nothing."""
    from workvec.runtime.shaping import shape_sentence

    concepts = labels.taxonomy.concepts
    out = []
    for i, s in enumerate(scored):
        if keep is not None and not keep[i]:
            out.append(set())
            continue
        shaped = shape_sentence(s.sentence, s.tokens, s.offsets, s.rows, s.scores, labels, settings)
        out.append({concepts[m.owner].label for m in shaped})
    return out


def main(argv=None) -> int:
    from workvec.runtime.encoder import Encoder
    from workvec.runtime.labels import LabelIndex
    from workvec.runtime.requirement import RequirementFilter, sentence_features
    from workvec.runtime.shaping import ShapeSettings
    from workvec.runtime.skills import ExtractSettings, SkillExtractor
    from workvec.runtime.taxonomy import load_taxonomy

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", required=True, type=Path)
    parser.add_argument("--split", choices=("validation", "test"), default="validation")
    parser.add_argument("--filter", type=Path, default=None, help="requirement filter file (default: the packaged one)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    data = load_extract_data(SHARED / "data" if (SHARED / "data").is_dir() else SHARED, (args.split,))
    enc = Encoder.open(args.bundle, precision="int8", providers="cpu", threads=1)
    labels = LabelIndex.open(enc, load_taxonomy("esco-skills"), index_dir=CACHE / "indexes" / "extract",
                             include_alt=False, progress=False)
    extractor = SkillExtractor(enc, labels, ExtractSettings(threshold=FLOOR))
    rfilter = RequirementFilter.for_encoder(enc, args.filter)
    gold_rows = data.gold[f"house_{args.split}"] + data.gold[f"tech_{args.split}"]
    sets = {"gold": cached_scores(extractor, f"gold-{args.split}", [s for s, _ in gold_rows]),
            "boiler": cached_scores(extractor, f"boiler-{args.split}", data.boilerplate[args.split])}
    keeps = {name: rfilter.probabilities(sentence_features([s.tokens for s in scored])) >= rfilter.threshold
             for name, scored in sets.items()}
    gold = [g for _, g in gold_rows]
    grid = []
    for use_filter in (False, True):
        for k in (5, None):
            for group, cos in ((False, 1.0), (True, 0.5), (True, 0.6), (True, 0.7)):
                for t in np.round(np.arange(0.55, 0.81, 0.025), 3):
                    st = ShapeSettings(threshold=float(t), k=k, related_cosine=cos, group=group)
                    pg = predict(sets["gold"], labels, st, keeps["gold"] if use_filter else None)
                    pb = predict(sets["boiler"], labels, st, keeps["boiler"] if use_filter else None)
                    row = {"filter": use_filter, "k": k, "group": group, "related_cosine": cos, "threshold": float(t),
                           **prf(pg, gold), **fp_rate(pb)}
                    grid.append(row)
                    print(f"filter={use_filter!s:5} k={k!s:4} group={group!s:5} cos={cos} t={t:.3f} P {row['precision']:.3f}"
                          f" R {row['recall']:.3f} F1 {row['f1']:.3f} FP {row['fp_rate']:.3f}", flush=True)
    if args.json:
        write_json(args.json, {"split": args.split, "filter": Path(rfilter.path).name, "filter_sha256": rfilter.sha256, "grid": grid})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
