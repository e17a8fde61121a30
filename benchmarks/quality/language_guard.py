"""The language guard (workvec.runtime.language) on real short texts: how many English titles and sentences it
flags (false alarms) and how many German and Spanish ones it catches, per rule setting, in one run.

English: 2,000 JobBERT validation titles (real ad titles), 1,000 USAJOBS titles, the SkillSpan HOUSE+TECH test
sentences. Other languages: 1,500 German and 1,500 Spanish ESCO v1.2.0 occupation labels (gendered pairs
split), and the German, French, Spanish, Dutch and Polish titles and sentences of tests/test_language.py.

    python benchmarks/quality/language_guard.py [--json OUT]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import ROOT, SHARED_DATA, log, write_json  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
SETTINGS = [(0.3, None), (0.4, None), (0.5, None), (0.4, 0.05), (0.3, 0.05)]  # (margin, english at most)


def _esco(language: str, n: int) -> list[str]:
    path = SHARED_DATA / "esco" / "i18n" / f"occupations_{language}_v1.2.0.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        labels = [part.strip() for row in csv.DictReader(fh) for part in row["preferredLabel"].split("/")]
    return random.Random(0).sample([label for label in labels if label], n)


def _sets() -> dict[str, list[str]]:
    from test_language import FOREIGN_SENTENCES, FOREIGN_TITLES

    rng = random.Random(0)
    with open(SHARED_DATA / "bench" / "jobbert" / "titles.validation.csv", encoding="utf-8") as fh:
        jobbert = rng.sample([row["vacancyTitle"] for row in csv.DictReader(fh)], 2000)
    with gzip.open(SHARED_DATA / "corpus" / "usajobs-2017" / "ads.jsonl.gz", "rt", encoding="utf-8") as fh:
        usajobs = rng.sample(sorted({json.loads(line)["title"] for line in fh}), 1000)
    sentences = set()
    for name in ("house_test_annotations.csv", "tech_test_annotations.csv"):
        with open(SHARED_DATA / "bench" / "skillspan_esco" / name, encoding="utf-8") as fh:
            sentences.update(row["sentence"] for row in csv.DictReader(fh))
    return {"en: jobbert titles": jobbert, "en: usajobs titles": usajobs, "en: skillspan sentences": sorted(sentences),
            "de: esco labels": _esco("de", 1500), "es: esco labels": _esco("es", 1500),
            "other: test titles": [t for titles in FOREIGN_TITLES.values() for t in titles],
            "other: test sentences": [s for sentences in FOREIGN_SENTENCES.values() for s in sentences]}


def main(argv=None) -> int:
    from workvec.runtime import language

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    guard = language.LanguageGuard(("en",))
    report = {"chosen": {"margin": language.MARGIN, "english_at_most": language.ENGLISH_AT_MOST}, "rules": []}
    sets = _sets()
    for margin, english in SETTINGS:
        language.MARGIN, language.ENGLISH_AT_MOST = margin, english
        row = {"margin": margin, "english_at_most": english}
        for name, texts in sets.items():
            row[name] = round(sum(guard.foreign(t) is not None for t in texts) / len(texts), 4)
        report["rules"].append(row)
        log(json.dumps(row))
    report["sizes"] = {name: len(texts) for name, texts in sets.items()}
    if args.json:
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
