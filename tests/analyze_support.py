"""Helpers for the `workvec analyze` tests: bundles, small taxonomies, a larger made-up corpus, table reads."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from workvec.analyze.rows import MAX_TEXT_BYTES

SAMPLE = Path(__file__).parent / "fixtures" / "ads-sample.jsonl"  # 36 made-up ads
FIXTURES = Path(__file__).parent / "fixtures"
TITLES = FIXTURES / "analyze-titles.csv"  # 6 occupations
SKILLS = FIXTURES / "analyze-skills.csv"  # 16 skills


def analyze_bundles(request) -> tuple[Path, Path]:
    """(title, skill) bundles: the committed tiny pair when conftest has it, else $WORKVEC_TEST_BUNDLES/minilm-*
    (ready-made dev bundles), else the MiniLM bundles conftest exports."""
    try:
        return request.getfixturevalue("tiny_title_bundle"), request.getfixturevalue("tiny_skill_bundle")
    except pytest.FixtureLookupError:
        pass
    ready = os.environ.get("WORKVEC_TEST_BUNDLES")
    if ready and (Path(ready) / "minilm-title" / "workvec.json").is_file():
        return Path(ready) / "minilm-title", Path(ready) / "minilm-skill"
    return request.getfixturevalue("minilm_title"), request.getfixturevalue("minilm_skill")


def taxonomies() -> tuple[Path, Path]:
    """Small (titles, skills) CSV taxonomies: label indexes build in a second."""
    return TITLES, SKILLS


def base_args(bundles: tuple[Path, Path], taxes: tuple[Path, Path], *extra: str) -> list[str]:
    """The model flags every test run uses (1 thread: results do not depend on it, timings do)."""
    return ["--title-bundle", str(bundles[0]), "--skill-bundle", str(bundles[1]), "--titles-taxonomy",
            str(taxes[0]), "--skills-taxonomy", str(taxes[1]), "--threads", "1", "--quiet", *extra]


def varied_corpus(path: Path, count: int, seed: int = 3) -> Path:
    """`count` made-up ads whose sentences rarely repeat (numbers and word choices vary): real encoding work."""
    rng = random.Random(seed)
    base = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    verbs = ["Support", "Lead", "Help with", "Coordinate", "Improve", "Plan", "Organise", "Review"]
    things = ["daily operations", "team projects", "customer requests", "quality checks", "training sessions",
              "budget planning", "weekly reports", "safety audits", "supplier contacts", "process changes"]
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(count):
            ad = dict(base[i % len(base)])
            extra = [f"{rng.choice(verbs)} {rng.choice(things)} for {rng.randint(2, 90)} colleagues in site"
                     f" {rng.randint(1, 500)}." for _ in range(4)]
            ad["id"] = f"v-{i:04d}"
            ad["text"] = ad["text"] + "\n" + "\n".join(extra)
            fh.write(json.dumps(ad) + "\n")
    return path


def rows(run_dir: Path) -> tuple[list[dict], list[dict]]:
    """ads.parquet and ad_skills.parquet as lists of dicts (in file order)."""
    import pyarrow.parquet as pq

    return (pq.read_table(run_dir / "ads.parquet").to_pylist(), pq.read_table(run_dir / "ad_skills.parquet").to_pylist())


BAD_LINES = [
    {"id": "ok", "title": "Nurse", "text": "Patient care.", "date": "2024-02-03"},
    {"id": "empty", "title": "Nurse", "text": "   ", "date": "2024-02-03"},
    {"id": "missing", "title": "Nurse", "date": "2024-02-03"},
    {"id": "null", "title": "Nurse", "text": None, "date": "2024-02-03"},
    {"id": "number", "title": "Nurse", "text": 42, "date": "2024-02-03"},
    {"id": "huge", "title": "Nurse", "text": "é" * (MAX_TEXT_BYTES // 2 + 10), "date": "2024-02-03"},
    {"id": "baddate", "title": "Nurse", "text": "Patient care.", "date": "03/02/2024"},
    {"id": "notitle", "title": None, "text": "Patient care.", "date": "2024-02-03T10:00:00Z"},
    {"title": "Nurse", "text": "Patient care.", "date": "2024-02"},
]


def write_bad_corpus(path):
    lines = [json.dumps(row) for row in BAD_LINES]
    lines.insert(3, "{not json")
    lines.insert(4, "[1, 2]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
