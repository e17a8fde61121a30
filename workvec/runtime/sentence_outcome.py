"""Per-sentence outcome of skill extraction: skipped by the requirement filter, or its shaped concepts.

The glue between SkillExtractor (encoding, candidates, scores) and the issue-12 modules: the requirement
filter (workvec.runtime.requirement) and output shaping (workvec.runtime.shaping). A skipped sentence is
reported (`"skipped": "no requirement"`), never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workvec.runtime.requirement import SKIPPED, RequirementFilter
from workvec.runtime.shaping import Shaped, ShapeSettings, shape_sentence

__all__ = ["SentenceOutcome", "SkippedSentence", "sentence_outcomes"]


@dataclass(frozen=True)
class SkippedSentence:
    """A sentence the requirement filter skipped; offsets into the text passed to extract."""

    text: str
    start: int
    end: int
    skipped: str = SKIPPED

    def to_json(self) -> dict:
        """JSON-ready dict."""
        return {"sentence": self.text, "start": self.start, "end": self.end, "skipped": self.skipped}


@dataclass(frozen=True)
class SentenceOutcome:
    """`skipped` is None when the sentence was scored; `shaped` holds its kept concepts, best first."""

    skipped: str | None
    shaped: tuple[Shaped, ...]


def sentence_outcomes(sentences: list[str], token_list: list[np.ndarray], offsets: list[np.ndarray],
                      score, labels, settings: ShapeSettings,
                      requirement: RequirementFilter | None) -> list[SentenceOutcome]:
    """One outcome per sentence. `score(i)` -> (label rows, scores) of sentence i, called only for sentences
    the filter keeps (so skipped sentences cost no scoring)."""
    keep = requirement.keep(token_list) if requirement is not None else np.ones(len(sentences), bool)
    out = []
    for i, sentence in enumerate(sentences):
        if not keep[i]:
            out.append(SentenceOutcome(SKIPPED, ()))
            continue
        rows, scores = score(i)
        out.append(SentenceOutcome(None, tuple(shape_sentence(sentence, token_list[i], offsets[i], rows, scores,
                                                              labels, settings))))
    return out
