"""What `normalize` answers for one title: the cleaned query, the candidates, and whether any is a match.

Below the calibrated no-match floor (the best candidate's cosine) the answer is `no_match: true`, with the
best candidates still listed for inspection. Floors are calibrated per (model, taxonomy) by
benchmarks/quality/tune_titles.py on JobBERT validation titles against benchmarks/quality/data/non_titles.txt, and stored
in data/title-floors.json keyed by the sha256 of the title bundle's fp32 model (`model.onnx`). An encoder or
taxonomy without a calibrated floor never reports no_match unless a floor is passed explicitly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from workvec.runtime.title_clean import clean_title

__all__ = ["FLOORS_FILE", "TitleAnswer", "answer_titles", "clean_titles", "make_answers", "no_match_floor"]

FLOORS_FILE = Path(__file__).with_name("data") / "title-floors.json"


@dataclass(frozen=True)
class TitleAnswer:
    """One title's answer: the query as given, the text that was encoded, candidates best first, no_match."""

    query: str
    cleaned: str
    matches: tuple
    no_match: bool

    def to_json(self) -> dict:
        """JSON-ready dict."""
        return {"query": self.query, "cleaned": self.cleaned, "no_match": self.no_match,
                "matches": [m.to_json() for m in self.matches]}


@lru_cache(maxsize=1)
def _floors() -> dict:
    try:
        return json.loads(FLOORS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def no_match_floor(encoder, taxonomy_name: str) -> float | None:
    """The calibrated floor for this encoder's model and precision on `taxonomy_name`, or None."""
    entry = _floors().get(str(encoder.manifest.model_sha256 or ""), {}).get(taxonomy_name, {})
    value = entry.get(encoder.info.precision, entry.get("int8"))
    return float(value) if value is not None else None


def answer_titles(normalize: Callable[[list[str], int], list[list]], titles: Sequence[str], *, k: int,
                  floor: float | None, clean: bool = True) -> list[TitleAnswer]:
    """Clean each title, normalize the cleaned texts with `normalize(texts, k)`, and flag no_match where the
    best candidate scores below `floor` (or there is none: a blank title)."""
    cleaned = clean_titles(titles, clean=clean)
    return make_answers(titles, cleaned, normalize(cleaned, k), floor=floor)


def clean_titles(titles: Sequence[str], *, clean: bool = True) -> list[str]:
    """The texts that get encoded: each title cleaned (workvec.runtime.title_clean), or as given."""
    return [clean_title(t) if clean else t for t in titles]


def make_answers(titles: Sequence[str], cleaned: Sequence[str], found: Sequence[Sequence], *,
                 floor: float | None) -> list[TitleAnswer]:
    """TitleAnswers from the cleaned texts' candidates: no_match where the best scores below `floor` or
    there is none (a blank title)."""
    return [TitleAnswer(t, c, tuple(m), not m or (floor is not None and m[0].score < floor))
            for t, c, m in zip(titles, cleaned, found)]
