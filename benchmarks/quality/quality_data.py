"""Dataset loading for benchmarks/quality/quality.py: skill-extraction queries, label lists, job-title queries.

Skill extraction follows TechWolf's workrb protocol: one query per distinct sentence; labels are
whitespace-stripped; `LABEL NOT PRESENT` / `UNDERSPECIFIED` rows and labels missing from the label list
are dropped; sentences left without a label are dropped. Three annotation layouts, detected by header:
  HOUSE/TECH (SkillSpan-ESCO)  sentence,span,sub_span,label
  TECHWOLF                     sentence,label
  Skill-XL                     ID,subset,title,sentence,relevant,cluster,skill   (rows with relevant == True)

Job titles (JobBERT): `,vacancyTitle,conceptUri`; each distinct title is one query whose one correct
answer is the occupation with that conceptUri (see `load_titles` for how duplicates are handled).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from workvec.runtime.taxonomy import Concept, Taxonomy, load_taxonomy

DROPPED_LABELS = frozenset({"LABEL NOT PRESENT", "UNDERSPECIFIED"})
TRUE_VALUES = frozenset({"true", "1", "yes"})

# format name -> (sentence column, label column, relevance column or None)
FORMATS: dict[str, tuple[str, str, str | None]] = {
    "skillspan": ("sentence", "label", None),
    "techwolf": ("sentence", "label", None),
    "skillxl": ("sentence", "skill", "relevant"),
}


@dataclass(frozen=True)
class SkillQuery:
    """One sentence and the indices (into the label list) of its gold skills."""

    sentence: str
    relevant: tuple[int, ...]


@dataclass(frozen=True)
class TitleQuery:
    """One job title and the index (into the occupation taxonomy) of its correct occupation."""

    title: str
    target: int


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        return [h.strip() for h in (reader.fieldnames or [])], rows


def detect_format(header: list[str]) -> str:
    """'skillspan', 'techwolf' or 'skillxl' from a CSV header; ValueError otherwise."""
    cols = set(header)
    if {"sentence", "relevant", "skill"} <= cols:
        return "skillxl"
    if {"sentence", "span", "label"} <= cols:
        return "skillspan"
    if {"sentence", "label"} <= cols:
        return "techwolf"
    raise ValueError(
        f"unrecognised skill annotation header {header}; expected sentence,span,sub_span,label (HOUSE/TECH), "
        "sentence,label (TECHWOLF) or ID,subset,title,sentence,relevant,cluster,skill (Skill-XL)"
    )


def dataset_name(path: str | Path) -> str:
    """`house_test` for `.../house_test_annotations.csv`."""
    stem = Path(path).name
    for suffix in (".gz", ".csv", ".tsv"):
        stem = stem.removesuffix(suffix)
    return stem.removesuffix("_annotations")


def load_label_list(path: str | Path) -> list[str]:
    """One label per line, whitespace-stripped; blank lines and repeats dropped (first kept)."""
    seen: dict[str, None] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            seen.setdefault(line.strip(), None)
    if not seen:
        raise ValueError(f"{path}: no labels")
    return list(seen)


def label_taxonomy(labels: list[str], name: str) -> Taxonomy:
    """A generic taxonomy whose concepts are the labels themselves (id = label, no alternatives)."""
    return Taxonomy(name, tuple(Concept(label, label) for label in labels))


def load_skill_queries(path: str | Path, labels: list[str]) -> list[SkillQuery]:
    """workrb-style queries from one annotation file, in first-appearance order of their sentences."""
    header, rows = _read_csv(Path(path))
    sentence_col, label_col, relevant_col = FORMATS[detect_format(header)]
    index = {label: i for i, label in enumerate(labels)}
    grouped: dict[str, dict[int, None]] = {}
    for row in rows:
        sentence = (row.get(sentence_col) or "").strip()
        if not sentence:
            continue
        golds = grouped.setdefault(sentence, {})
        if relevant_col is not None and (row.get(relevant_col) or "").strip().lower() not in TRUE_VALUES:
            continue
        label = (row.get(label_col) or "").strip()
        if label in DROPPED_LABELS or label not in index:
            continue
        golds.setdefault(index[label], None)
    return [SkillQuery(s, tuple(g)) for s, g in grouped.items() if g]


def load_occupations(path: str | Path) -> Taxonomy:
    """The occupation taxonomy (ESCO occupations_en.csv; concept id = conceptUri)."""
    return load_taxonomy(Path(path))


def load_titles(path: str | Path, taxonomy: Taxonomy) -> tuple[list[TitleQuery], dict[str, int]]:
    """Each distinct title once, with its one correct occupation, in file order.

    Titles are compared as exact strings (the JobBERT validation file's 15,463 titles are already all
    distinct, so every row is a query). A repeated title with the same URI is dropped as a duplicate;
    one seen with a *different* URI keeps its first URI (file order) and is counted as a conflict.
    Merging whitespace or case variants was tried and moves the figures away from the published ones
    (stripping merges 270 rows: R@10 50.4 instead of 50.5; case-folding: MRR 0.327 instead of 0.333).
    Rows whose URI is not in the taxonomy, and blank titles, are dropped and counted.
    Returns (queries, counts).
    """
    header, rows = _read_csv(Path(path))
    if "vacancyTitle" not in header or "conceptUri" not in header:
        raise ValueError(f"{path}: expected columns vacancyTitle and conceptUri, found {header}")
    index = {c.id: i for i, c in enumerate(taxonomy.concepts)}
    first: dict[str, int] = {}
    counts = {"rows": len(rows), "duplicates": 0, "conflicts": 0, "unknown_uri": 0, "blank": 0}
    for row in rows:
        title, uri = row.get("vacancyTitle") or "", (row.get("conceptUri") or "").strip()
        if not title.strip():
            counts["blank"] += 1
        elif uri not in index:
            counts["unknown_uri"] += 1
        elif title in first:
            counts["duplicates" if first[title] == index[uri] else "conflicts"] += 1
        else:
            first[title] = index[uri]
    return [TitleQuery(t, i) for t, i in first.items()], counts
