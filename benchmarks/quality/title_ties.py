"""Titles: what ordering exact ties by meaning (workvec.runtime.title_job.TIE) does to the product's answers on
JobBERT validation, through `TitleNormalizer.normalize` itself (cleaning, qualifier rule, ties), against the same
calls with ties left in label order; shipped model, int8, ESCO occupations, one run.

    python benchmarks/quality/title_ties.py [--bundle DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import SHARED_DATA, log, write_json  # noqa: E402

K = 10


def _metrics(answers, targets) -> dict:
    ranks = []
    for answer, target in zip(answers, targets):
        ids = [m.id for m in answer.matches]
        ranks.append(ids.index(target) + 1 if target in ids else 0)
    n = len(ranks)
    return {"mrr@10": round(sum(1 / r for r in ranks if r) / n, 4), "r@1": round(sum(r == 1 for r in ranks) / n, 4),
            "r@5": round(sum(0 < r <= 5 for r in ranks) / n, 4), "titles": n,
            "tied_first": sum(bool(a.tied_with) for a in answers)}


def main(argv=None) -> int:
    import workvec
    from workvec.runtime import title_job, titles

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=None, help="title bundle (default: the shipped model)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = list(csv.DictReader(open(SHARED_DATA / "bench" / "jobbert" / "titles.validation.csv", encoding="utf-8")))
    normalizer = workvec.TitleNormalizer.open(args.bundle, threads=1)
    known = {c.id for c in normalizer.labels.taxonomy.concepts}
    rows = [r for r in rows if r["conceptUri"] in known]
    texts, targets = [r["vacancyTitle"] for r in rows], [r["conceptUri"] for r in rows]
    report = {}
    for name, tie in (("ties by meaning", title_job.TIE), ("label order", -1.0)):
        title_job.TIE = titles.TIE = tie
        answers = []
        for lo in range(0, len(texts), 512):
            answers.extend(normalizer.normalize(texts[lo:lo + 512], k=K))
        report[name] = _metrics(answers, targets)
        log(f"{name}: {report[name]}")
        if name == "ties by meaning":
            changed = answers
        else:
            report["top_changed"] = sum(a.matches[:1] != b.matches[:1] for a, b in zip(changed, answers))
    log(f"top answer changed for {report['top_changed']} titles")
    if args.json:
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
