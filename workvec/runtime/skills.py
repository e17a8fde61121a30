"""ConTeXT-match skill extraction: job ad -> sentences -> candidate skills -> exact scores with evidence."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import numpy as np

from workvec.errors import InputError
from workvec.runtime.contextmatch import match_scores, max_cosines
from workvec.runtime.encoder import Encoder
from workvec.runtime.evidence import Evidence
from workvec.runtime.labels import LabelIndex
from workvec.runtime.requirement import RequirementFilter
from workvec.runtime.sentence_outcome import SkippedSentence, sentence_outcomes
from workvec.runtime.sentences import Span, iter_sentences
from workvec.runtime.shaping import Related, ShapeSettings

# Chosen on HOUSE+TECH validation with all-MiniLM-L6-v2 int8, requirement filter on, near-duplicates grouped,
# no cap (benchmarks/tune_extract.py; benchmarks/README.md "Answers"): 0.625 reads P 0.338 / R 0.172 / F1 0.228
# with a boilerplate FP rate of 0.228 on SkillSpan dev, against P 0.211 / R 0.290 / FP 0.634 for the old
# 0.60 + top-5 without filter. 0.60 keeps more recall (P 0.254 / R 0.206), 0.65 reaches P 0.41 (R 0.122).
# Other models want their own calibration.
DEFAULT_THRESHOLD = 0.625
SENTENCES_PER_CHUNK = 64  # bounded memory for long ads
BOUND_SLACK = 1e-4  # float32 rounding between the cosine bound and the exact score


@dataclass(frozen=True)
class SkillMatch:
    """A skill found in an ad, with the sentence and words that support it."""

    id: str
    label: str
    score: float
    sentence: str
    evidence: tuple[Evidence, ...]
    related: tuple[Related, ...] = ()  # near-duplicate concepts on the same evidence (workvec.runtime.shaping)

    def to_json(self) -> dict:
        """JSON-ready dict."""
        return {"id": self.id, "label": self.label, "score": self.score, "sentence": self.sentence,
                "evidence": [e.to_json() for e in self.evidence], "related": [r.to_json() for r in self.related]}


@dataclass(frozen=True)
class ExtractReport:
    """`extract_report`'s answer: the skills, and the sentences the requirement filter skipped."""

    skills: tuple[SkillMatch, ...]
    skipped: tuple[SkippedSentence, ...]


@dataclass(frozen=True)
class ExtractSettings:
    """Candidate generation and selection knobs."""

    threshold: float = DEFAULT_THRESHOLD
    top_k: int | None = None  # optional cap per sentence; None: the threshold decides (issue 12)
    # Candidates: the token_k nearest labels of each token plus the sentence_k nearest of the mean token,
    # searched with HNSW at `ef`. Share of HOUSE / TECH validation sentences whose exact top-10 survives
    # (all-MiniLM-L6-v2 int8): token_k=8, ef=128: 93.5% / 91.1%; 16, 128: 98.7% / 99.0%; 24, 128:
    # 98.7% / 100% (the HOUSE miss is an HNSW miss, fixed by ef); 16, 192: 100% / 99.0%;
    # 24, 192: 100% / 100%. tests/test_skills.py asserts >= 99%.
    token_k: int = 24
    sentence_k: int = 64
    ef: int = 192
    # None: exact when the index is exact (below AUTO_EXACT_BELOW labels), HNSW candidates otherwise. Exact
    # mode bounds every label by its best token cosine (one matrix product per chunk of sentences) and scores
    # only the labels that can reach the threshold: the same matches as scoring every label.
    exact: bool | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.threshold <= 1:
            raise InputError(f"threshold must be within [0, 1] (got {self.threshold}); ConTeXT-match scores are cosines")
        if self.top_k is not None and self.top_k <= 0:
            raise InputError(f"top_k must be a positive integer or None for no cap (got {self.top_k})")
        for name in ("token_k", "sentence_k", "ef"):
            if getattr(self, name) <= 0:
                raise InputError(f"{name} must be a positive integer (got {getattr(self, name)})")


class SkillExtractor:
    """Find taxonomy skills in job-ad text with a skill bundle and a label index."""

    def __init__(self, encoder: Encoder, labels: LabelIndex, settings: ExtractSettings = ExtractSettings(),
                 requirement: RequirementFilter | None = None) -> None:
        if encoder.manifest.kind != "skill":
            raise InputError("SkillExtractor needs a --kind skill bundle (token embeddings); this one is a title bundle")
        self.encoder = encoder
        self.labels = labels
        self.settings = settings
        self.exact = settings.exact if settings.exact is not None else labels.index.mode == "exact"
        if requirement is not None:
            requirement.check(encoder)
        self.requirement = requirement
        self.shape = ShapeSettings(threshold=settings.threshold, k=settings.top_k)

    def score_sentence_tokens(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Label rows and their exact ConTeXT-match scores for one sentence's token vectors, without the
        threshold: every label in exact mode, the HNSW candidates otherwise (for rankings and diagnostics)."""
        rows = np.arange(len(self.labels.labels)) if self.exact else self._hnsw_candidates(tokens)
        return rows, self._scores(tokens, rows)

    def extract(self, text: str) -> list[SkillMatch]:
        """Skills in `text`, best score per skill over the whole ad, best first."""
        return list(self.extract_report(text).skills)

    def extract_report(self, text: str) -> ExtractReport:
        """Skills in `text` (as `extract`) and the sentences the requirement filter skipped, in text order."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        best: dict[int, SkillMatch] = {}
        skipped: list[SkippedSentence] = []
        for chunk in _chunks(iter_sentences(text)):
            for item, owner in self._extract_chunk(chunk):
                if isinstance(item, SkippedSentence):
                    skipped.append(item)
                elif owner not in best or item.score > best[owner].score:
                    best[owner] = item
        return ExtractReport(tuple(sorted(best.values(), key=lambda m: -m.score)), tuple(skipped))

    def _hnsw_candidates(self, tokens: np.ndarray) -> np.ndarray:
        """Union of the HNSW neighbours of every token and of the mean token."""
        count = len(self.labels.labels)
        tok_rows, _ = self.labels.search(tokens, min(self.settings.token_k, count), ef=self.settings.ef)
        sent_rows, _ = self.labels.search(tokens.mean(axis=0, keepdims=True), min(self.settings.sentence_k, count),
                                          ef=self.settings.ef)
        return np.unique(np.concatenate([tok_rows.ravel(), sent_rows.ravel()]))

    def _scores(self, tokens: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact ConTeXT-match scores of the label `rows` (never copies more than those rows)."""
        every = len(rows) == len(self.labels.labels)  # rows are unique, so this is all of them, in order
        return match_scores(tokens, self.labels.raw_vectors(None if every else rows),
                            self.labels.norms if every else self.labels.norms[rows])

    def _candidate_rows(self, token_list: list[np.ndarray]) -> list[np.ndarray]:
        """Per sentence, the labels that can reach the threshold. Exact mode: every label whose best token
        cosine (an upper bound of its score) reaches it, so the result equals scoring all labels; HNSW mode:
        the neighbour union."""
        if not self.exact:
            return [self._hnsw_candidates(tokens) for tokens in token_list]
        bound = max_cosines(token_list, self.labels.index.vectors())
        return [np.flatnonzero(row >= self.settings.threshold - BOUND_SLACK) for row in bound]

    def _extract_chunk(self, spans: list[Span]) -> Iterator[tuple[SkillMatch | SkippedSentence, int]]:
        sentences = [span.text for span in spans]
        token_list = self.encoder.encode_tokens(sentences)
        offsets = self.encoder.token_offsets(sentences)
        candidates = self._candidate_rows(token_list)

        def score(i: int) -> tuple[np.ndarray, np.ndarray]:
            return candidates[i], self._scores(token_list[i], candidates[i])
        outcomes = sentence_outcomes(sentences, token_list, offsets, score, self.labels, self.shape, self.requirement)
        for span, outcome in zip(spans, outcomes):
            if outcome.skipped:
                yield SkippedSentence(span.text, span.start, span.end, outcome.skipped), -1
            for m in outcome.shaped:
                concept = self.labels.taxonomy.concepts[m.owner]
                yield SkillMatch(concept.id, concept.label, m.score, span.text, m.evidence, m.related), m.owner


def _chunks(items: Iterable[Span]) -> Iterator[list[Span]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, SENTENCES_PER_CHUNK)):
        yield chunk
