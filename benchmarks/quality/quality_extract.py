"""`quality.py extract`: what a user of `workvec extract` sees, measured on annotated sentences.

Two figures, on the default product path (int8 skill bundle, embedded esco-skills, the label index the CLI
opens, extraction at the default threshold and settings):

- **Sentence-level precision / recall / F1** on the HOUSE and TECH splits (SkillSpan-ESCO; the workrb
  protocol of quality_data.load_skill_queries: gold labels are ESCO v1.1.0 preferred labels; sentences without
  one are dropped). Each annotated sentence is passed to the extractor as a whole text; its extracted skills
  (top-level matches only: skills grouped under another as "related" do not count) are compared with the gold
  preferred labels, micro-averaged over sentences. Gold labels the embedded taxonomy lacks (329 of the 13,896
  v1.1.0 labels are not preferred labels there) stay in the gold set: they count as misses.
- **Boilerplate false-positive rate**: the share of SkillSpan sentences with no skill and no knowledge span
  (tokens joined by spaces) for which the extractor reports any skill (filtered sentences report none).

Validation splits are where thresholds are tuned (benchmarks/quality/tune_extract.py); test splits are only reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ExtractData", "load_extract_data", "prf", "boilerplate_sentences", "gold_sentences"]


@dataclass(frozen=True)
class ExtractData:
    """Annotated sentences (sentence, gold labels) per dataset and the boilerplate sentences per split."""

    gold: dict[str, list[tuple[str, frozenset[str]]]]
    boilerplate: dict[str, list[str]]


def gold_sentences(path: Path, labels: list[str]) -> list[tuple[str, frozenset[str]]]:
    """(sentence, gold preferred labels) per query of one HOUSE/TECH annotation file (workrb protocol)."""
    import quality_data as qd

    return [(q.sentence, frozenset(labels[i] for i in q.relevant)) for q in qd.load_skill_queries(path, labels)]


def boilerplate_sentences(path: Path) -> list[str]:
    """SkillSpan json sentences with no skill and no knowledge span, tokens joined by spaces, in file order."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if all(t == "O" for t in (*row["tags_skill"], *row["tags_knowledge"])):
                out.append(" ".join(row["tokens"]))
    return out


def load_extract_data(shared: Path, splits: tuple[str, ...]) -> ExtractData:
    """HOUSE/TECH `{split}` annotations and SkillSpan boilerplate for each split in `splits`
    ("validation" pairs with SkillSpan dev, "test" with SkillSpan test)."""
    import quality_data as qd

    labels = qd.load_label_list(shared / "esco" / "skills_en_v1.1.0_labels.txt")
    bench = shared / "bench" / "skillspan_esco"
    gold = {f"{src}_{split}": gold_sentences(bench / f"{src}_{split}_annotations.csv", labels)
            for split in splits for src in ("house", "tech")}
    corpus = shared / "corpus" / "skillspan" / "json"
    boiler = {split: boilerplate_sentences(corpus / f"{_SKILLSPAN_SPLIT[split]}.json") for split in splits}
    return ExtractData(gold, boiler)


# HOUSE/TECH split -> the SkillSpan split its boilerplate rate is measured on. Tuning on "validation" reads
# SkillSpan dev; "test" reads SkillSpan test (the figure).
_SKILLSPAN_SPLIT = {"validation": "dev", "test": "test"}


def prf(predicted: list[set[str]], gold: list[frozenset[str]]) -> dict:
    """Micro precision, recall, F1 over sentences, with the counts."""
    tp = sum(len(p & g) for p, g in zip(predicted, gold))
    n_pred = sum(len(p) for p in predicted)
    n_gold = sum(len(g) for g in gold)
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4), "tp": tp, "predicted": n_pred,
            "gold": n_gold, "sentences": len(gold)}


def fp_rate(predicted: list[set[str]]) -> dict:
    """Share of (skill-free) sentences with any skill reported."""
    hits = sum(1 for p in predicted if p)
    return {"fp_rate": round(hits / max(len(predicted), 1), 4), "with_skill": hits, "sentences": len(predicted),
            "skills_reported": sum(len(p) for p in predicted)}


def add_arguments(p) -> None:
    """`quality.py extract` options."""
    p.add_argument("--bundle", type=Path, default=None, help="skill bundle (default: the quality cache's MiniLM)")
    p.add_argument("--splits", default="validation,test", help="validation and/or test")
    p.add_argument("--threshold", type=float, default=None, help="default: the product's")
    p.add_argument("--top-k", type=int, default=None, help="cap per sentence (default: none, the product's)")
    p.add_argument("--no-requirement-filter", dest="requirement_filter", action="store_false")
    p.add_argument("--no-group", dest="group", action="store_false", help="do not group near-duplicates")
    p.add_argument("--limit", type=int, default=None, help="first N sentences per set")
    p.add_argument("--json", type=Path, default=None)


def run_extract(args) -> dict:
    """The product path (`SkillExtractor.extract` per sentence) on HOUSE/TECH and SkillSpan boilerplate."""
    from _common import SHARED, log
    from quality_assets import CACHE, bundle_dir

    from workvec.defaults import default_model
    from workvec.runtime.encoder import Encoder
    from workvec.runtime.labels import LabelIndex
    from workvec.runtime.requirement import requirement_for
    from workvec.runtime.shaping import ShapeSettings
    from workvec.runtime.skills import ExtractSettings, SkillExtractor, default_threshold
    from workvec.runtime.taxonomy import load_taxonomy

    splits = tuple(s.strip() for s in args.splits.split(",") if s.strip())
    shared = SHARED / "data" if (SHARED / "data").is_dir() else SHARED
    data = load_extract_data(shared, splits)
    bundle = args.bundle or bundle_dir(str(default_model()), "skill")
    enc = Encoder.open(bundle, precision="int8", providers="cpu", threads=1)
    labels = LabelIndex.open(enc, load_taxonomy("esco-skills"), index_dir=CACHE / "indexes" / "extract",
                             include_alt=False, progress=False)
    threshold = default_threshold(enc.manifest) if args.threshold is None else args.threshold
    settings = ExtractSettings(k=args.top_k, threshold=threshold)
    extractor = SkillExtractor(enc, labels, settings, requirement_for(enc, enabled=args.requirement_filter))
    if not args.group:
        extractor.shape = ShapeSettings(threshold=settings.threshold, k=settings.k, group=False)

    with_related: list[set[str]] = []

    def predict(texts: list[str]) -> list[set[str]]:
        """Top-level labels per text; `with_related` gets the same plus the related ones listed under them."""
        out = []
        with_related.clear()
        for t in texts[: args.limit]:
            skills = extractor.extract(t).skills
            out.append({m.label for m in skills})
            with_related.append(out[-1] | {r.label for m in skills for r in m.related})
        return out

    results: dict = {}
    for split in splits:
        preds, golds, related = [], [], []
        for src in ("house", "tech"):
            rows = data.gold[f"{src}_{split}"][: args.limit]
            preds.append(predict([s for s, _ in rows]))
            golds.append([g for _, g in rows])
            related.append(list(with_related))
            results[f"{src}_{split}"] = {**prf(preds[-1], golds[-1]),
                                         "recall_with_related": prf(related[-1], golds[-1])["recall"]}
            log(f"{src}_{split}: {results[f'{src}_{split}']}")
        results[f"house+tech_{split}"] = {**prf(preds[0] + preds[1], golds[0] + golds[1]),
                                          "recall_with_related": prf(related[0] + related[1], golds[0] + golds[1])["recall"]}
        name = f"boilerplate_{_SKILLSPAN_SPLIT[split]}"
        results[name] = fp_rate(predict(data.boilerplate[split]))
        log(f"{name}: {results[name]}")
    return {"task": "extract", "bundle": enc.manifest.identity(), "settings": {
        "threshold": settings.threshold, "k": settings.k, "group": args.group,
        "requirement_filter": extractor.requirement.sha256 if extractor.requirement else None},
        "datasets": results}


def markdown(report: dict) -> str:
    """One row per dataset: P/R/F1 or the boilerplate FP rate."""
    lines = ["| set | sentences | precision | recall | F1 | recall incl. related | boilerplate FP rate |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, m in report["datasets"].items():
        if "fp_rate" in m:
            lines.append(f"| {name} | {m['sentences']} | | | | | {m['fp_rate']:.3f} |")
        else:
            lines.append(f"| {name} | {m['sentences']} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} "
                         f"| {m['recall_with_related']:.3f} | |")
    return "\n".join(lines)
