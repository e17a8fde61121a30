"""Per-sentence outcome of skill extraction: skipped by the requirement filter, or its shaped skills.

The glue between SkillExtractor (encoding, candidates, scores) and the issue-12 modules: the requirement
filter (workvec.runtime.requirement) and output shaping (workvec.runtime.shaping). A skipped sentence is
reported (`"skipped": "no requirement"`), never silently dropped.
"""

from __future__ import annotations

import numpy as np

from workvec.runtime.requirement import SKIPPED
from workvec.runtime.shaping import ShapeSettings, shape_sentence
from workvec.runtime.skill_job import SentenceOutcome, SkillMatch

__all__ = ["sentence_outcomes"]


def sentence_outcomes(sentences: list[str], token_list: list[np.ndarray], offsets: list[np.ndarray],
                      score, labels, settings: ShapeSettings, keep: np.ndarray | None) -> list[SentenceOutcome]:
    """One outcome per sentence. `keep`: the requirement filter's verdict per sentence (None: no filter);
    `score(i)` -> (label rows, scores) of sentence i, called only for sentences kept."""
    keep = np.ones(len(sentences), bool) if keep is None else keep
    concepts = labels.taxonomy.concepts
    out = []
    for i, sentence in enumerate(sentences):
        if not keep[i]:
            out.append(SentenceOutcome(SKIPPED, ()))
            continue
        rows, scores = score(i)
        shaped = shape_sentence(sentence, token_list[i], offsets[i], rows, scores, labels, settings)
        out.append(SentenceOutcome(None, tuple(
            SkillMatch(concepts[m.owner].id, concepts[m.owner].label, m.score, sentence, 0, len(sentence),
                       m.evidence, m.related) for m in shaped)))
    return out
