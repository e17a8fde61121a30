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

Validation splits are where thresholds are tuned (benchmarks/tune_extract.py); test splits are only reported.
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
