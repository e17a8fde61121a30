"""What `normalize` answers for one title: the query, the cleaned text, the candidates, and whether any is a
match (the two-phase flow that makes it is workvec.runtime.title_job).

Below the calibrated no-match floor (the best candidate's cosine) the answer is `no_match: true`, with the
best candidates still listed for inspection. Floors are calibrated per (model, taxonomy) by
benchmarks/quality/tune_titles.py on JobBERT validation titles against benchmarks/quality/data/non_titles.txt, and stored
in data/title-floors.json keyed by the sha256 of the title bundle's fp32 model (`model.onnx`). An encoder or
taxonomy without a calibrated floor never reports no_match unless a floor is passed explicitly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["FLOORS_FILE", "TitleAnswer", "no_match_floor"]

FLOORS_FILE = Path(__file__).with_name("data") / "title-floors.json"


@dataclass(frozen=True)
class TitleAnswer:
    """One title's answer: the query as given, the text that was encoded, candidates best first, no_match, and
    the ids of concepts that tie the first one's score (ordered by meaning, workvec.runtime.title_job); a title in
    a language the bundle does not serve is no_match with no candidates and its `language` named."""

    query: str
    cleaned: str
    matches: tuple
    no_match: bool
    tied_with: tuple[str, ...] = ()
    language: str | None = None  # set when the language guard answered: the title's language, not served

    def to_json(self) -> dict:
        """JSON-ready dict."""
        return {"query": self.query, "cleaned": self.cleaned, "no_match": self.no_match,
                "matches": [m.to_json() for m in self.matches], "tied_with": list(self.tied_with),
                "language": self.language}


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
