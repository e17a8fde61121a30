"""Training pairs from open data only: ESCO occupations and skills, SkillSpan *train* linked to ESCO skills.

Titles (anchor -> occupation preferred label): every alternative and hidden label, and the first sentence of
the description. Skills (text -> skill preferred label): every alternative label, the first sentence of the
description, and SkillSpan train sentences whose annotated skill/knowledge spans link to an ESCO skill by
distant supervision (Decorte et al. 2022): an exact match of the span against a preferred or alternative
label (case- and punctuation-folded), else the zero-shot encoder's nearest preferred label when its cosine is
at least LINK_MIN_COSINE and beats the runner-up by LINK_MIN_MARGIN. Sentences that also occur in any
benchmark file (validation or test) are dropped, so nothing of an evaluation split is trained on.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

LINK_MIN_COSINE = 0.80
LINK_MIN_MARGIN = 0.03
BENCH_FILES = ("house_validation", "house_test", "tech_validation", "tech_test")


@dataclass(frozen=True)
class Pair:
    """One training example: `text` should be closest to the label `target` (a concept's preferred label)."""

    text: str
    target: str
    source: str


@dataclass(frozen=True)
class Corpus:
    """Pairs per task and source, the labels of each task, and what was read (sha256 per input file)."""

    titles: list[Pair]
    skills: list[Pair]
    title_labels: list[str]
    skill_labels: list[str]
    inputs: dict[str, str]
    counts: dict[str, int] = field(default_factory=dict)


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fold(text: str) -> str:
    """Case-, space- and edge-punctuation-folded form used for exact links."""
    return re.sub(r"\s+", " ", text.lower()).strip(" .,;:!?()-\"'")


def first_sentence(text: str, limit: int = 300) -> str:
    """The description's first sentence (what fits a 64-token encoder), or '' for none."""
    text = " ".join(text.split())
    head = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return head[:limit]


def _lines(value: str) -> list[str]:
    return [v.strip() for v in (value or "").split("\n") if v.strip()]


def _esco(path: Path, extra_columns: tuple[str, ...]) -> tuple[list[Pair], list[str]]:
    pairs: list[Pair] = []
    labels: list[str] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            target = (row.get("preferredLabel") or "").strip()
            if not target:
                continue
            labels.append(target)
            for column in ("altLabels", *extra_columns):
                pairs += [Pair(alt, target, "alt") for alt in _lines(row.get(column, "")) if alt != target]
            desc = first_sentence(row.get("description") or "")
            if desc:
                pairs.append(Pair(desc, target, "description"))
    return pairs, labels


def _spans(tokens: list[str], tags: list[str]) -> list[str]:
    found: list[list[str]] = []
    for token, tag in zip(tokens, tags):
        if tag == "B":
            found.append([token])
        elif tag == "I" and found and found[-1] is not None:
            found[-1].append(token)
        else:
            found.append(None)  # type: ignore[arg-type]
    return [" ".join(s) for s in found if s]


def benchmark_sentences(bench_dir: Path) -> set[str]:
    """Every sentence of the skill benchmarks' validation and test files, folded (to exclude from training)."""
    seen: set[str] = set()
    for name in BENCH_FILES:
        with (bench_dir / f"{name}_annotations.csv").open(encoding="utf-8", newline="") as handle:
            seen |= {fold(row["sentence"]) for row in csv.DictReader(handle)}
    return seen


def skillspan_links(train_json: Path, skills_csv: Path, bench_dir: Path,
                    encode: Callable[[list[str]], np.ndarray], labels: list[str]) -> tuple[list[Pair], dict[str, int]]:
    """SkillSpan train sentences paired with the ESCO skills their spans link to (see the module doc)."""
    exact: dict[str, str] = {}
    with skills_csv.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            target = row["preferredLabel"].strip()
            for name in [target, *_lines(row.get("altLabels", ""))]:
                exact.setdefault(fold(name), target)
    banned = benchmark_sentences(bench_dir)
    rows = [json.loads(line) for line in train_json.read_text(encoding="utf-8").splitlines() if line.strip()]
    found: list[tuple[str, str]] = []
    for row in rows:
        sentence = " ".join(row["tokens"])
        if fold(sentence) in banned:
            continue
        for tags in (row["tags_skill"], row["tags_knowledge"]):
            found += [(sentence, span) for span in _spans(row["tokens"], tags)]
    open_spans = sorted({span for _, span in found if fold(span) not in exact})
    linked = {span: exact[fold(span)] for _, span in found if fold(span) in exact}
    if open_spans:
        label_vecs = _unit(encode(labels))
        span_vecs = _unit(encode(open_spans))
        sims = span_vecs @ label_vecs.T
        top2 = np.argsort(-sims, axis=1)[:, :2]
        for i, span in enumerate(open_spans):
            best, second = sims[i, top2[i, 0]], sims[i, top2[i, 1]]
            if best >= LINK_MIN_COSINE and best - second >= LINK_MIN_MARGIN:
                linked[span] = labels[int(top2[i, 0])]
    pairs = sorted({Pair(s, linked[span], "skillspan") for s, span in found if span in linked},
                   key=lambda p: (p.text, p.target))
    counts = {"skillspan_sentences": len(rows), "skillspan_spans": len(found),
              "skillspan_exact_links": sum(1 for _, s in found if fold(s) in exact),
              "skillspan_embedding_links": sum(1 for _, s in found if s in linked and fold(s) not in exact),
              "skillspan_pairs": len(pairs), "benchmark_sentences_excluded": sum(
                  1 for r in rows if fold(" ".join(r["tokens"])) in banned)}
    return pairs, counts


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def load_corpus(data: Path, encode: Callable[[list[str]], np.ndarray]) -> Corpus:
    """All training pairs from the shared data folder (`encode`: the zero-shot encoder, for span links)."""
    occupations = data / "esco" / "occupations_en.csv"
    skills = data / "esco" / "skills_en.csv"
    train_json = data / "corpus" / "skillspan" / "json" / "train.json"
    bench = data / "bench" / "skillspan_esco"
    titles, title_labels = _esco(occupations, ("hiddenLabels",))
    skill_pairs, skill_labels = _esco(skills, ())
    linked, counts = skillspan_links(train_json, skills, bench, encode, skill_labels)
    inputs = {str(p.relative_to(data)): sha256(p) for p in (occupations, skills, train_json)}
    counts.update({"title_pairs": len(titles), "skill_pairs_esco": len(skill_pairs)})
    return Corpus(titles, skill_pairs + linked, title_labels, skill_labels, inputs, counts)
