"""Title cleaning on a real job-ad corpus without gold labels: what it changes, for review.

Every distinct title of the corpus (default: shared/data/corpus/usajobs-2017, US federal ads) is normalized raw
and cleaned (`workvec.runtime.title_clean.clean_title`) with the default title model over ESCO occupations
(`TitleNormalizer.search`: each text as given, without `normalize`'s trailing-qualifier rule).
Reports how many titles cleaning changes, how often that changes the top occupation, the mean best score and
the share below the model's calibrated no-match floor, raw vs cleaned, and a seeded sample of titles whose
top occupation changed (for a human to judge: there is no gold occupation here).

    python benchmarks/quality/clean_corpus_titles.py [--corpus FILE.jsonl.gz] [--sample 40] [--out DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared _common helpers
from _common import RESULTS, SHARED_DATA, log, markdown_table, write_json, write_text

CORPUS = SHARED_DATA / "corpus" / "usajobs-2017" / "ads.jsonl.gz"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS, help="JSON lines (.gz) with a 'title' field")
    ap.add_argument("--sample", type=int, default=40, help="changed answers to list for review")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=RESULTS / "quality")
    a = ap.parse_args(argv)
    import workvec
    from workvec.runtime.title_answer import no_match_floor
    from workvec.runtime.title_clean import clean_title

    with gzip.open(a.corpus, "rt", encoding="utf-8") as fh:
        titles = sorted({json.loads(line)["title"] for line in fh})
    cleaned = [clean_title(t) for t in titles]
    normalizer = workvec.TitleNormalizer.open()
    floor = no_match_floor(normalizer.encoder, normalizer.labels.taxonomy.name)
    log(f"{len(titles)} distinct titles; normalizing raw and cleaned ...")
    raw_best, clean_best = (normalizer.search(texts, k=1) for texts in (titles, cleaned))  # each text as given
    raw_score, clean_score = (np.array([m[0].score for m in found]) for found in (raw_best, clean_best))
    moved = [i for i in range(len(titles)) if raw_best[i][0].label != clean_best[i][0].label]
    changed = sum(t != c for t, c in zip(titles, cleaned))
    corpus = a.corpus.relative_to(SHARED_DATA) if a.corpus.is_relative_to(SHARED_DATA) else Path(a.corpus.name)
    summary = {"corpus": str(corpus),
               "titles": len(titles), "changed_by_cleaning": changed, "top_occupation_changed": len(moved),
               "floor": floor, "raw": {"mean_best": float(raw_score.mean()),
                                       "below_floor": float((raw_score < floor).mean()) if floor else None},
               "cleaned": {"mean_best": float(clean_score.mean()),
                           "below_floor": float((clean_score < floor).mean()) if floor else None}}
    picked = sorted(random.Random(a.seed).sample(moved, min(a.sample, len(moved))))
    rows = [[titles[i], cleaned[i], f"{raw_best[i][0].label} ({raw_score[i]:.2f})",
             f"{clean_best[i][0].label} ({clean_score[i]:.2f})"] for i in picked]
    table = markdown_table(["title", "cleaned", "top occupation raw", "top occupation cleaned"], rows)
    write_json(a.out / "clean_corpus_titles.json", summary | {"sample": rows})
    write_text(a.out / "clean_corpus_titles.md", f"```\n{json.dumps(summary, indent=1)}\n```\n\n{table}\n")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
