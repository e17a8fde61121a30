"""Output shaping for skill extraction: what one sentence's scored candidates become in the answer.

- The threshold decides: every concept scoring at or above it is kept (an optional cap `k` per sentence,
  default None: uncapped).
- Near-duplicates are grouped: a concept whose label vector is close to a better one's (cosine >=
  `related_cosine`) and that draws on the same evidence tokens (overlap of the softened evidence weights >=
  `related_overlap`) is listed under it as `related` instead of standing on its own ("write Dutch",
  "understand spoken Dutch" under "Dutch"), so it neither crowds out other skills nor counts twice.
- Evidence is a few spans of contiguous tokens (workvec.runtime.evidence.evidence_spans), not one token.
- Optionally (`evidence=EvidenceRule()`, workvec.runtime.evidence; default None: every match kept), a match
  whose evidence is not worth showing is dropped before grouping: evidence that is only part of a word the
  label lacks ('Snow' of 'Snowflake' for "remove snow"), a word that is a fragment of a label word or the
  reverse ('VA' for "perform VATS"), or function words only ('an', 'the' for "electricity market"). Not the
  default: shipped model at its 0.575 (benchmarks/quality/evidence_rules.py), HOUSE+TECH validation P/R/F1
  0.399 / 0.347 / 0.371 -> 0.415 / 0.344 / 0.376, but SkillSkape dev F1 0.179 -> 0.156 and HOUSE+TECH test
  0.290 -> 0.281.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from workvec.errors import InputError
from workvec.runtime.evidence import Evidence, EvidenceRule, evidence_runs, evidence_spans, evidence_weights, shown

__all__ = ["Related", "Shaped", "ShapeSettings", "best_per_owner", "shape_sentence", "RELATED_COSINE", "RELATED_OVERLAP"]

# Tuned on HOUSE+TECH validation with all-MiniLM-L6-v2 int8 (benchmarks/quality/tune_extract.py).
RELATED_COSINE = 0.5  # 0.5 / 0.6 / 0.7 at threshold 0.625: P 0.338 / 0.310 / 0.271, R 0.172 / 0.172 / 0.183
RELATED_OVERLAP = 0.5


@dataclass(frozen=True)
class Related:
    """A near-duplicate concept grouped under a better one."""

    id: str
    label: str
    score: float

    def to_json(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Shaped:
    """One kept concept of a sentence: its owner (concept index), score, evidence spans and related concepts."""

    owner: int
    score: float
    evidence: tuple[Evidence, ...]
    related: tuple[Related, ...]


@dataclass(frozen=True)
class ShapeSettings:
    """Selection knobs: threshold, optional per-sentence cap, near-duplicate grouping, the evidence rule
    (None: every match kept whatever its evidence; `EvidenceRule()`: the measured rule)."""

    threshold: float
    k: int | None = None
    related_cosine: float = RELATED_COSINE
    related_overlap: float = RELATED_OVERLAP
    group: bool = True
    evidence: EvidenceRule | None = None

    def __post_init__(self) -> None:
        if self.k is not None and (not isinstance(self.k, int) or self.k <= 0):
            raise InputError(f"k must be a positive integer or None for no cap (got {self.k!r})")


def best_per_owner(rows: np.ndarray, scores: np.ndarray, owners: np.ndarray, threshold: float) -> list[tuple[int, float]]:
    """(label row, score) of each concept's best label at or above `threshold`, best first (stable ties)."""
    out: list[tuple[int, float]] = []
    seen: set[int] = set()
    for i in np.argsort(-scores, kind="stable"):
        if scores[i] < threshold:
            break
        owner = int(owners[rows[i]])
        if owner not in seen:
            seen.add(owner)
            out.append((int(rows[i]), float(scores[i])))
    return out


def shape_sentence(sentence: str, tokens: np.ndarray, offsets: np.ndarray, rows: np.ndarray, scores: np.ndarray,
                   labels, settings: ShapeSettings) -> list[Shaped]:
    """The kept concepts of one sentence, best first. `rows`/`scores`: candidate label rows of `labels` (a
    LabelIndex) and their ConTeXT-match scores; `tokens`/`offsets`: the sentence's token vectors and spans."""
    picked = best_per_owner(rows, scores, labels.owners, settings.threshold)
    if not picked:
        return []
    raw = labels.raw_vectors(np.asarray([r for r, _ in picked]))
    weights = np.stack([evidence_weights(tokens, vec, offsets) for vec in raw])
    runs: list | None = None  # evidence runs per picked concept, when the rule needs them all
    rule = settings.evidence
    if rule is not None and rule.active:
        runs = [evidence_runs(sentence, w, offsets) for w in weights]
        bar = None if rule.margin is None else settings.threshold + rule.margin
        worth = [i for i, (row, score) in enumerate(picked)
                 if not rule.weak(sentence, runs[i], labels.labels[row]) or (bar is not None and score >= bar)]
        if not worth:
            return []
        picked, raw, weights, runs = [picked[i] for i in worth], raw[worth], weights[worth], [runs[i] for i in worth]
    unit = raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)
    heads: list[int] = []
    members: dict[int, list[int]] = {}
    for i in range(len(picked)):
        head = _head_of(i, heads, unit, weights, settings) if settings.group else None
        if head is None:
            heads.append(i)
            members[i] = []
        else:
            members[head].append(i)
    if settings.k is not None:
        heads = heads[: settings.k]
    concepts = labels.taxonomy.concepts
    out = []
    for h in heads:
        owner = int(labels.owners[picked[h][0]])
        related = tuple(Related(concepts[int(labels.owners[picked[m][0]])].id,
                                concepts[int(labels.owners[picked[m][0]])].label, round(picked[m][1], 6))
                        for m in members[h])
        evidence = shown(sentence, runs[h]) if runs is not None else evidence_spans(sentence, weights[h], offsets)
        out.append(Shaped(owner, round(picked[h][1], 6), evidence, related))
    return out


def _head_of(i: int, heads: list[int], unit: np.ndarray, weights: np.ndarray, settings: ShapeSettings) -> int | None:
    """The first (best) kept head that concept `i` near-duplicates on the same evidence, or None."""
    for h in heads:
        if float(unit[i] @ unit[h]) >= settings.related_cosine and \
                float(np.minimum(weights[i], weights[h]).sum()) >= settings.related_overlap:
            return h
    return None
