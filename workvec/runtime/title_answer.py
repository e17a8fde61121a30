"""What `normalize` answers for one title: the cleaned query, the candidates, and whether any is a match.

A cleaned title that ends with a qualifier in brackets ("Java Developer (Spring Boot)") is also searched
without it, and each concept keeps its better score of the two: qualifiers pull every score down, but often
carry the occupation ("Intern (Marketing)"), so neither text alone is right. On JobBERT validation (2,195 of
15,463 titles end with one; shipped model, ESCO occupations) this moves MRR 0.3732 -> 0.3736 (preferred labels
only 0.3483 -> 0.3502; the bare title alone: 0.3695) and the real titles below the floor 4.8% -> 4.0% (7.9% ->
2.1% of those with a qualifier). Dropping other tails (" - Marketing") lowers MRR (0.3682) and is not done.

Below the calibrated no-match floor (the best candidate's cosine) the answer is `no_match: true`, with the
best candidates still listed for inspection. Floors are calibrated per (model, taxonomy) by
benchmarks/quality/tune_titles.py on JobBERT validation titles against benchmarks/quality/data/non_titles.txt, and stored
in data/title-floors.json keyed by the sha256 of the title bundle's fp32 model (`model.onnx`). An encoder or
taxonomy without a calibrated floor never reports no_match unless a floor is passed explicitly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from workvec.runtime.title_clean import clean_title

__all__ = ["FLOORS_FILE", "TitleAnswer", "answer_titles", "clean_titles", "make_answers", "no_match_floor",
           "title_queries"]

FLOORS_FILE = Path(__file__).with_name("data") / "title-floors.json"
_QUALIFIER = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*$")  # a trailing "(...)" or "[...]"
_LETTER = re.compile(r"[^\W\d_]")


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
    queries = title_queries(cleaned, clean=clean)
    return make_answers(titles, cleaned, queries, normalize([q for qs in queries for q in qs], k), floor=floor, k=k)


def clean_titles(titles: Sequence[str], *, clean: bool = True) -> list[str]:
    """The texts that get encoded: each title cleaned (workvec.runtime.title_clean), or as given."""
    return [clean_title(t) if clean else t for t in titles]


def title_queries(cleaned: Sequence[str], *, clean: bool = True) -> list[tuple[str, ...]]:
    """Per cleaned title the texts to search: itself and, when cleaning is on and it ends with a qualifier in
    brackets, itself without it (when a letter is left)."""
    out = []
    for text in cleaned:
        bare = _QUALIFIER.sub("", text).strip() if clean else text
        out.append((text, bare) if bare != text and _LETTER.search(bare) else (text,))
    return out


def make_answers(titles: Sequence[str], cleaned: Sequence[str], queries: Sequence[Sequence[str]],
                 found: Sequence[Sequence], *, floor: float | None, k: int) -> list[TitleAnswer]:
    """TitleAnswers from the candidates of the flattened `queries` (title_queries): each concept with its best
    score over the title's texts, best first, up to `k`; no_match where the best scores below `floor` or there
    is none (a blank title). Equal scores (concepts sharing a label) go by the text they came from, then by their
    rank in its list, so the order never depends on `k`."""
    answers, at = [], 0
    for title, text, texts in zip(titles, cleaned, queries):
        best: dict = {}  # concept id -> ((-score, text index, rank), match): its best match and sort key
        for which, found_one in enumerate(found[at:at + len(texts)]):
            for rank, match in enumerate(found_one):
                key = (-match.score, which, rank)
                if match.id not in best or key < best[match.id][0]:
                    best[match.id] = (key, match)
        at += len(texts)
        matches = tuple(match for _, match in sorted(best.values(), key=lambda pair: pair[0])[:k])
        below = not matches or (floor is not None and matches[0].score < floor)
        answers.append(TitleAnswer(title, text, matches, below))
    return answers
