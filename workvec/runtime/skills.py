"""ConTeXT-match skill extraction: job ad -> sentences -> candidate skills -> exact scores with evidence."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from workvec.errors import InputError
from workvec.runtime.contextmatch import match_scores, max_cosines
from workvec.runtime.encoder import Encoder, Precision, Providers
from workvec.runtime.opening import TaxonomyLike, open_parts
from workvec.runtime.evidence import Evidence
from workvec.runtime.labels import LabelIndex
from workvec.runtime.requirement import RequirementFilter, requirement_for
from workvec.runtime.sentence_outcome import SentenceOutcome, SkippedSentence, sentence_outcomes
from workvec.runtime.sentences import Span, split_sentences
from workvec.runtime.shaping import Related, ShapeSettings
from workvec.runtime.tokenizer import check_texts

# Chosen on HOUSE+TECH validation with all-MiniLM-L6-v2 int8, requirement filter on, near-duplicates grouped,
# no cap (benchmarks/quality/tune_extract.py; benchmarks/README.md "Answers"): 0.625 reads P 0.338 / R 0.172 / F1 0.228
# with a boilerplate FP rate of 0.228 on SkillSpan dev, against P 0.211 / R 0.290 / FP 0.634 for the old
# 0.60 + top-5 without filter. 0.60 keeps more recall (P 0.254 / R 0.206), 0.65 reaches P 0.41 (R 0.122).
# Other models want their own calibration.
DEFAULT_THRESHOLD = 0.625  # calibrated for all-MiniLM-L6-v2 zero-shot; bundles may carry their own


def default_threshold(manifest) -> float:
    """The bundle's calibrated threshold (`skill_threshold` in its manifest), else DEFAULT_THRESHOLD."""
    return float(manifest.extra.get("skill_threshold", DEFAULT_THRESHOLD))
DEFAULT_TAXONOMY = "esco-skills"
SENTENCES_PER_CHUNK = 64  # bounded memory for long ads
BOUND_SLACK = 1e-4  # float32 rounding between the cosine bound and the exact score


@dataclass(frozen=True)
class SkillMatch:
    """A skill found in a text: its best sentence (`text[sentence_start:sentence_end]`) and the words that
    support it (`Evidence` offsets index the text given to `extract`)."""

    id: str
    label: str
    score: float
    sentence: str
    sentence_start: int
    sentence_end: int
    evidence: tuple[Evidence, ...]
    related: tuple[Related, ...] = ()  # near-duplicate concepts on the same evidence (workvec.runtime.shaping)

    def to_json(self) -> dict:
        """JSON-ready dict."""
        return {"id": self.id, "label": self.label, "score": self.score, "sentence": self.sentence,
                "sentence_start": self.sentence_start, "sentence_end": self.sentence_end,
                "evidence": [e.to_json() for e in self.evidence], "related": [r.to_json() for r in self.related]}

    def shifted(self, start: int) -> SkillMatch:
        """The same match for a sentence found at `start` of a longer text."""
        return replace(self, sentence_start=self.sentence_start + start, sentence_end=self.sentence_end + start,
                       evidence=tuple(replace(e, start=e.start + start, end=e.end + start) for e in self.evidence))


def merge_sentences(spans: Sequence[Span], per_sentence: Sequence[Sequence[SkillMatch]]) -> list[SkillMatch]:
    """One text's matches from its sentences' (`extract_sentences` on `[s.text for s in spans]`): offsets moved
    into the text, the best sentence kept per skill (the first on ties), best first."""
    if len(spans) != len(per_sentence):
        raise InputError(f"{len(spans)} spans but {len(per_sentence)} sentence results; pass one result per span")
    best: dict[str, SkillMatch] = {}
    for span, matches in zip(spans, per_sentence):
        for match in matches:
            if match.id not in best or match.score > best[match.id].score:
                best[match.id] = match.shifted(span.start)
    return sorted(best.values(), key=lambda m: -m.score)


@dataclass(frozen=True)
class ExtractReport:
    """One text's answer: its skills (as `extract`) and the sentences the requirement filter skipped
    (offsets into the text), so nothing is dropped silently."""

    skills: tuple[SkillMatch, ...]
    skipped: tuple[SkippedSentence, ...]

    def to_json(self) -> dict:
        """JSON-ready dict."""
        return {"skills": [m.to_json() for m in self.skills], "skipped": [s.to_json() for s in self.skipped]}


@dataclass(frozen=True)
class ExtractSettings:
    """Candidate generation and selection knobs."""

    threshold: float = DEFAULT_THRESHOLD
    k: int | None = None  # optional cap on skills per sentence; None: the threshold decides
    # Candidates: the token_k nearest labels of each token plus the sentence_k nearest of the mean token,
    # searched with HNSW at `ef`. Share of HOUSE / TECH validation sentences whose exact top-10 survives
    # (all-MiniLM-L6-v2 int8): token_k=8, ef=128: 93.5% / 91.1%; 16, 128: 98.7% / 99.0%; 24, 128:
    # 98.7% / 100% (the HOUSE miss is an HNSW miss, fixed by ef); 16, 192: 100% / 99.0%;
    # 24, 192: 100% / 100%. tests/test_skills_minilm.py asserts >= 99%.
    token_k: int = 24
    sentence_k: int = 64
    ef: int = 192
    # None: exact when the index is exact (below AUTO_EXACT_BELOW labels), HNSW candidates otherwise. Exact
    # mode bounds every label by its best token cosine (one matrix product per chunk of sentences) and scores
    # only the labels that can reach the threshold: the same matches as scoring every label.
    exact: bool | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.threshold, (int, float)) or not 0 <= self.threshold <= 1:
            raise InputError(f"threshold must be within [0, 1] (got {self.threshold}); ConTeXT-match scores are cosines")
        for name in ("k", "token_k", "sentence_k", "ef"):
            value = getattr(self, name)
            if name == "k" and value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise InputError(f"{name} must be a positive integer (got {value!r})")


class SkillExtractor:
    """Find taxonomy skills in job-ad text with a skill bundle and a label index."""

    def __init__(self, encoder: Encoder, labels: LabelIndex, settings: ExtractSettings = ExtractSettings(),
                 requirement: RequirementFilter | None = None) -> None:
        if "skill" not in encoder.manifest.tasks:
            raise InputError("SkillExtractor needs a --kind skill bundle (token embeddings); this one is a title bundle")
        self.encoder = encoder
        self.labels = labels
        self.settings = settings
        self.exact = settings.exact if settings.exact is not None else labels.index.mode == "exact"
        if requirement is not None:
            requirement.check(encoder)
        self.requirement = requirement  # workvec.runtime.requirement: sentences it rejects are skipped, reported
        self.shape = ShapeSettings(threshold=settings.threshold, k=settings.k)

    def score_sentence_tokens(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Label rows and their exact ConTeXT-match scores for one sentence's token vectors, without the
        threshold: every label in exact mode, the HNSW candidates otherwise (for rankings and diagnostics)."""
        rows = np.arange(len(self.labels.labels)) if self.exact else self._hnsw_candidates(tokens)
        return rows, self._scores(tokens, rows)

    @classmethod
    def open(
        cls,
        bundle: str | os.PathLike | Encoder | None = None,
        *,
        taxonomy: TaxonomyLike = DEFAULT_TAXONOMY,
        threshold: float | None = None,
        k: int | None = ExtractSettings.k,
        exact: bool | None = None,
        requirement_filter: bool | str | os.PathLike = True,
        precision: Precision = "auto",
        providers: Providers = "auto",
        threads: int | None = None,
        index_dir: str | os.PathLike | None = None,
        strict: bool = False,
        progress: bool | None = None,
    ) -> SkillExtractor:
        """An extractor over `taxonomy` (embedded name, file path or Taxonomy; preferred labels) with the skill
        `bundle` (default: the default skill bundle; an open Encoder is shared, not reopened); its label index
        is cached by content and built or rebuilt when needed (`strict=True` raises on a broken cached index
        instead). `requirement_filter`: True skips sentences that state no requirement with the filter trained
        for this bundle's model (none known: a warning, every sentence scored), a path uses that filter file
        (refused unless trained for this model), False scores every sentence. `threshold` None: the bundle's calibrated one (`default_threshold`)."""
        if threshold is not None:
            ExtractSettings(threshold=threshold, k=k, exact=exact)  # bad options fail before any loading
        encoder, labels = open_parts(bundle, kind="skill", taxonomy=taxonomy, include_alt=False, precision=precision,
                                     providers=providers, threads=threads, index_dir=index_dir, strict=strict,
                                     progress=progress)
        requirement = requirement_for(encoder, enabled=requirement_filter is not False,
                                      path=None if isinstance(requirement_filter, bool) else requirement_filter)
        chosen = default_threshold(encoder.manifest) if threshold is None else threshold
        return cls(encoder, labels, ExtractSettings(threshold=chosen, k=k, exact=exact), requirement)

    def extract(self, text: str) -> list[SkillMatch]:
        """Skills in `text`, best score per skill over the whole text, best first."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        return self.extract_batch([text])[0]

    def extract_batch(self, texts: Sequence[str]) -> list[list[SkillMatch]]:
        """`extract` for each text; the sentences of all texts are encoded together."""
        return [list(report.skills) for report in self.extract_reports(texts)]

    def extract_report(self, text: str) -> ExtractReport:
        """`extract` plus the sentences the requirement filter skipped."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        return self.extract_reports([text])[0]

    def extract_reports(self, texts: Sequence[str]) -> list[ExtractReport]:
        """`extract_report` for each text; the sentences of all texts are encoded together."""
        items = check_texts(texts)
        spans = [split_sentences(text) for text in items]
        flat = self.sentence_outcomes([span.text for text_spans in spans for span in text_spans])
        return [self.report(text_spans, flat[start:start + len(text_spans)])
                for text_spans, start in zip(spans, np.cumsum([0] + [len(s) for s in spans]).tolist())]

    def report(self, spans: Sequence[Span], outcomes: Sequence[SentenceOutcome]) -> ExtractReport:
        """One text's report from its sentences' outcomes (`sentence_outcomes` on `[s.text for s in spans]`)."""
        skipped = tuple(SkippedSentence(span.text, span.start, span.end, o.skipped)
                        for span, o in zip(spans, outcomes) if o.skipped)
        per_sentence = [self._matches(span.text, o) for span, o in zip(spans, outcomes)]
        return ExtractReport(tuple(merge_sentences(spans, per_sentence)), skipped)

    def extract_sentences(self, sentences: Sequence[str]) -> list[list[SkillMatch]]:
        """Per sentence, its skills above the threshold (at most `k` when set), best first, offsets within the
        sentence; a sentence the requirement filter skips gets [] (`sentence_outcomes` says which)."""
        items = check_texts(sentences)
        return [self._matches(s, o) for s, o in zip(items, self.sentence_outcomes(items))]

    def sentence_outcomes(self, sentences: Sequence[str]) -> list[SentenceOutcome]:
        """Per sentence: skipped by the requirement filter, or its shaped concepts (workvec.runtime.shaping)."""
        items = check_texts(sentences)
        out: list[SentenceOutcome] = []
        for start in range(0, len(items), SENTENCES_PER_CHUNK):
            out.extend(self._extract_chunk(items[start:start + SENTENCES_PER_CHUNK]))
        return out

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

    def _extract_chunk(self, sentences: list[str]) -> list[SentenceOutcome]:
        encoded = self.encoder.encode_tokens(sentences)
        token_list = [e.vectors for e in encoded]
        candidates = self._candidate_rows(token_list)
        return sentence_outcomes(sentences, token_list, [e.offsets for e in encoded],
                                 lambda i: (candidates[i], self._scores(token_list[i], candidates[i])),
                                 self.labels, self.shape, self.requirement)

    def _matches(self, sentence: str, outcome: SentenceOutcome) -> list[SkillMatch]:
        concepts = self.labels.taxonomy.concepts
        return [SkillMatch(concepts[m.owner].id, concepts[m.owner].label, m.score, sentence, 0, len(sentence),
                           m.evidence, m.related) for m in outcome.shaped]
