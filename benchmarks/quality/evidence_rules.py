"""Evidence worth showing: what each `EvidenceRule` (workvec.runtime.evidence) does to `workvec extract`.

The product path of `quality.py extract` (shipped int8 bundle, embedded esco-skills, exact scoring, requirement
filter, near-duplicates grouped, the bundle's calibrated threshold), once per rule: HOUSE+TECH whole-answer
precision / recall / F1 and the SkillSpan boilerplate FP rate (dev for validation, test for test). Each
distinct sentence is encoded once (token vectors cached in memory; int8 is batch-invariant, so the answers are
the product's). Per rule it also lists the matches it removed (gold or not) and, for "equal recall", the
precision at the highest threshold of a small grid whose recall reaches the baseline's.

Choose on `--split validation`; `--split test --rules NAME` reports a chosen rule against the baseline once.
`--split skillskape-dev` reads SkillSkape dev instead (synthetic sentences with ESCO preferred labels, a dev
split: a second check of a choice; its sentences labelled only 'UNK' stand in for boilerplate).

    python benchmarks/quality/evidence_rules.py [--bundle DIR] [--split validation|test|skillskape-dev]
        [--rules a,b] [--sweep] [--removed-for a,b] [--json OUT]
"""

from __future__ import annotations

import argparse
import functools
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared _common helpers
from _common import CACHE, SHARED, log, machine_info, write_json  # noqa: E402
from quality_extract import fp_rate, load_extract_data, prf  # noqa: E402

from workvec.runtime.evidence import EvidenceRule, same_word, words_in  # noqa: E402


@dataclass(frozen=True)
class TrialRule(EvidenceRule):
    """The product's rule plus the variants tried and not adopted (all off unless set):

    - word_share: a run none of whose words has this share covered by the evidence tokens is a fragment
      (`excuse`: unless a word of it is a label word); the product's sub_words is 1.0 with the excuse.
    - acronyms: a run of all-caps 2-3 letter words the label lacks: "word" (any), "prefix" (that begin a label
      word).
    - capitals: a run of capitalised words, none the sentence's first, that the label lacks (proper nouns).
    """

    sub_words: bool = False
    fragments: bool = False
    function_words: bool = False
    word_share: float = 0.0
    excuse: bool = False
    acronyms: str = ""
    capitals: bool = False

    @property
    def active(self) -> bool:
        return super().active or self.word_share > 0 or bool(self.acronyms) or self.capitals

    def fragment(self, sentence, words, label_words) -> bool:
        texts = [sentence[a:b] for a, b, _ in words]
        known = any(same_word(t.lower(), w) for t in texts for w in label_words)
        if max(share for _, _, share in words) < self.word_share and not (self.excuse and known):
            return True
        if self.acronyms and all(_acronym_accident(t, label_words, self.acronyms) for t in texts):
            return True
        first = words_in(sentence)[:1]
        if self.capitals and all(t[0].isupper() and (a, b) not in first and t.lower() not in label_words
                                 for t, (a, b, _) in zip(texts, words)):
            return True
        return (self.sub_words or self.fragments) and super().fragment(sentence, words, label_words)


def _acronym_accident(text: str, label_words: set[str], mode: str) -> bool:
    """An all-caps 2-3 letter word the label lacks as a word ("prefix": and that begins one of its words)."""
    if not (2 <= len(text) <= 3 and text.isalpha() and text.isupper()) or text.lower() in label_words:
        return False
    return mode == "word" or any(w.startswith(text.lower()) for w in label_words)


PRODUCT = EvidenceRule()
RULES = {  # name -> rule; "none" is the product without the rule (the baseline), "product" the default
    "none": TrialRule(),
    "share0.5": TrialRule(word_share=0.5),
    "share0.6": TrialRule(word_share=0.6),
    "share0.75": TrialRule(word_share=0.75),
    "whole": TrialRule(word_share=1.0),
    "whole+m0.05": TrialRule(word_share=1.0, margin=0.05),
    "share0.5-excused": TrialRule(word_share=0.5, excuse=True),
    "sub_words": TrialRule(sub_words=True),
    "fragments": TrialRule(fragments=True),
    "function_words": TrialRule(function_words=True),
    "acronym-word": TrialRule(acronyms="word"),
    "acronym-prefix": TrialRule(acronyms="prefix"),
    "capitals": TrialRule(capitals=True),
    "share0.5+acronym-prefix+function_words": TrialRule(word_share=0.5, acronyms="prefix", function_words=True),
    "whole+acronym-prefix+function_words": TrialRule(word_share=1.0, acronyms="prefix", function_words=True),
    "sub_words+function_words": TrialRule(sub_words=True, function_words=True),
    "fragments+function_words": TrialRule(fragments=True, function_words=True),
    "product": PRODUCT,  # sub_words + fragments + function_words, dropped
    "product+m0.05": replace(PRODUCT, margin=0.05),
    "product+m0.1": replace(PRODUCT, margin=0.1),
    "share0.75-excused+fragments+function_words": TrialRule(word_share=0.75, excuse=True, fragments=True,
                                                            function_words=True),
    "all": TrialRule(sub_words=True, fragments=True, function_words=True, acronyms="word", capitals=True),
}
SWEEP = tuple(np.round(np.arange(0.550, 0.5751, 0.005), 3))


def cache_encoder(encoder) -> None:
    """Memoise `encoder.encode_tokens` per text (the runs differ only after encoding)."""
    original, memo = encoder.encode_tokens, {}

    def encode_tokens(texts, **kw):
        missing = list(dict.fromkeys(t for t in texts if t not in memo))
        if missing:
            memo.update(zip(missing, original(missing, **kw)))
        return [memo[t] for t in texts]

    encoder.encode_tokens = encode_tokens


def answers(extractor, texts: list[str], rule: EvidenceRule, threshold: float) -> list[list]:
    """Top-level SkillMatches per text on the product path, with `rule` in the shaping settings."""
    from workvec.runtime import skills
    from workvec.runtime.shaping import ShapeSettings

    skills.ShapeSettings = functools.partial(ShapeSettings, evidence=rule)
    try:
        return [list(r.skills) for r in extractor.extract_batch(texts, threshold=threshold)]
    finally:
        skills.ShapeSettings = ShapeSettings


def measure(extractor, gold_rows, boiler: list[str], rule: EvidenceRule, threshold: float,
            house: int) -> tuple[dict, list]:
    """HOUSE+TECH P/R/F1 (and each set's: the first `house` rows are HOUSE's), boilerplate FP rate."""
    found = answers(extractor, [s for s, _ in gold_rows], rule, threshold)
    predicted, gold = [{m.label for m in ms} for ms in found], [g for _, g in gold_rows]
    row = {**prf(predicted, gold), "house": prf(predicted[:house], gold[:house]),
           "tech": prf(predicted[house:], gold[house:])}
    row["boilerplate"] = fp_rate([{m.label for m in ms} for ms in answers(extractor, boiler, rule, threshold)])
    return row, found


def removed(base: list[list], found: list[list], gold_rows) -> list[dict]:
    """Matches of the baseline a rule no longer answers: label, evidence, gold or not, sentence."""
    out = []
    for before, after, (sentence, gold) in zip(base, found, gold_rows):
        kept = {m.label for m in after}
        out.extend({"label": m.label, "score": m.score, "evidence": [e.text for e in m.evidence],
                    "gold": m.label in gold, "sentence": m.sentence} for m in before if m.label not in kept)
    return out


def main(argv=None) -> int:
    from workvec.defaults import SHIPPED_BUNDLE
    from workvec.runtime.encoder import Encoder
    from workvec.runtime.labels import LabelIndex
    from workvec.runtime.requirement import requirement_for
    from workvec.runtime.skills import ExtractSettings, SkillExtractor, default_threshold
    from workvec.runtime.taxonomy import load_taxonomy

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=SHIPPED_BUNDLE)
    parser.add_argument("--split", choices=("validation", "test", "skillskape-dev"), default="validation")
    parser.add_argument("--rules", default=",".join(RULES), help="comma-separated names of RULES (none: baseline)")
    parser.add_argument("--sweep", action="store_true", help="also read precision at the baseline's recall")
    parser.add_argument("--removed-for", default=None, help="list removed matches in the json only for these rules")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    names = ["none"] + [n for n in args.rules.split(",") if n and n != "none"]
    shared = SHARED / "data" if (SHARED / "data").is_dir() else SHARED
    if args.split == "skillskape-dev":
        gold_rows, boiler = skillskape(shared / "bench" / "skillskape" / "dev.csv")
        house = len(gold_rows)  # one set: reported as "house", "tech" empty
    else:
        data = load_extract_data(shared, (args.split,))
        gold_rows = data.gold[f"house_{args.split}"] + data.gold[f"tech_{args.split}"]
        house = len(data.gold[f"house_{args.split}"])
        boiler = data.boilerplate[args.split]
    enc = Encoder.open(args.bundle, precision="int8", providers="cpu", threads=1)
    cache_encoder(enc)
    labels = LabelIndex.open(enc, load_taxonomy("esco-skills"), index_dir=CACHE / "indexes" / "extract",
                             include_alt=False, progress=False)
    threshold = default_threshold(enc.manifest)
    extractor = SkillExtractor(enc, labels, ExtractSettings(threshold=threshold), requirement_for(enc, enabled=True))
    report = {"split": args.split, "bundle": enc.manifest.identity(), "threshold": threshold, "rules": {},
              "machine": machine_info(("workvec", "numpy", "onnxruntime", "tokenizers"))}
    base_found = None
    for name in names:
        rule = RULES[name]
        row, found = measure(extractor, gold_rows, boiler, rule, threshold, house)
        base_found = found if name == "none" else base_found
        row["rule"] = {"class": type(rule).__name__, **vars(rule)}
        row["removed"] = removed(base_found, found, gold_rows)
        gone = row["removed"]
        row["removed_wrong"], row["removed_gold"] = sum(not g["gold"] for g in gone), sum(g["gold"] for g in gone)
        if args.removed_for is not None and name not in args.removed_for.split(","):
            del row["removed"]
        if args.sweep and name != "none":
            row["equal_recall"] = equal_recall(extractor, gold_rows, rule, report["rules"]["none"]["recall"])
        report["rules"][name] = row
        log(f"{name:26} P {row['precision']:.3f} R {row['recall']:.3f} F1 {row['f1']:.3f} "
            f"({row['tp']}/{row['predicted']}) FP {row['boilerplate']['fp_rate']:.3f} removed "
            f"{row['removed_wrong']} wrong / {row['removed_gold']} gold"
            + (f" | equal recall: {row['equal_recall']}" if "equal_recall" in row else ""))
    if args.json:
        write_json(args.json, report)
    return 0


def skillskape(path: Path) -> tuple[list[tuple[str, frozenset[str]]], list[str]]:
    """SkillSkape rows: (sentence, ESCO preferred labels) where it has any, and the sentences labelled 'UNK' only."""
    import ast
    import csv

    gold, none = [], []
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            labels = frozenset(x for x in ast.literal_eval(row["skills"]) if x != "UNK")
            (gold.append((row["sentence"], labels)) if labels else none.append(row["sentence"]))
    return gold, none


def equal_recall(extractor, gold_rows, rule: EvidenceRule, recall: float) -> dict | None:
    """Precision at the highest threshold of SWEEP where the rule's recall reaches `recall` (None: none does)."""
    for t in sorted(SWEEP, reverse=True):
        predicted = [{m.label for m in ms} for ms in answers(extractor, [s for s, _ in gold_rows], rule, float(t))]
        row = prf(predicted, [g for _, g in gold_rows])
        if row["recall"] >= recall:
            return {"threshold": float(t), "precision": row["precision"], "recall": row["recall"], "f1": row["f1"]}
    return None


if __name__ == "__main__":
    raise SystemExit(main())
