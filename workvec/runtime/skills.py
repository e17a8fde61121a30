"""ConTeXT-match skill extraction: job ad -> sentences -> candidate skills -> exact scores with evidence."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from workvec.errors import InputError
from workvec.runtime.contextmatch import attention, match_scores, max_cosines
from workvec.runtime.encoder import Encoder, Precision, Providers, TokenEncoding
from workvec.runtime.opening import TaxonomyLike, open_parts
from workvec.runtime.evidence import Evidence, evidence
from workvec.runtime.labels import LabelIndex
from workvec.runtime.sentences import Span, split_sentences
from workvec.runtime.tokenizer import check_texts

# F1-best on the HOUSE+TECH validation splits (135 sentences, top-5) with all-MiniLM-L6-v2 int8:
# P 0.211 / R 0.304 / F1 0.249 at 0.60 vs F1 0.225 at 0.50 and 0.208 at 0.65
# (benchmarks/calibrate_threshold.py). Other models want their own calibration.
DEFAULT_THRESHOLD = 0.60
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

    def to_json(self) -> dict:
        """JSON-ready dict."""
        return {"id": self.id, "label": self.label, "score": self.score, "sentence": self.sentence,
                "sentence_start": self.sentence_start, "sentence_end": self.sentence_end,
                "evidence": [e.to_json() for e in self.evidence]}

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
class ExtractSettings:
    """Candidate generation and selection knobs."""

    threshold: float = DEFAULT_THRESHOLD
    k: int = 5  # at most this many skills per sentence
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
        if not isinstance(self.threshold, (int, float)) or not 0 <= self.threshold <= 1:
            raise InputError(f"threshold must be within [0, 1] (got {self.threshold}); ConTeXT-match scores are cosines")
        for name in ("k", "token_k", "sentence_k", "ef"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise InputError(f"{name} must be a positive integer (got {value!r})")


class SkillExtractor:
    """Find taxonomy skills in job-ad text with a skill bundle and a label index."""

    def __init__(self, encoder: Encoder, labels: LabelIndex, settings: ExtractSettings = ExtractSettings()) -> None:
        if encoder.manifest.kind != "skill":
            raise InputError("SkillExtractor needs a --kind skill bundle (token embeddings); this one is a title bundle")
        self.encoder = encoder
        self.labels = labels
        self.settings = settings
        self.exact = settings.exact if settings.exact is not None else labels.index.mode == "exact"

    def score_sentence_tokens(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Label rows and their exact ConTeXT-match scores for one sentence's token vectors, without the
        threshold: every label in exact mode, the HNSW candidates otherwise (for rankings and diagnostics)."""
        rows = np.arange(len(self.labels.labels)) if self.exact else self._hnsw_candidates(tokens)
        return rows, self._scores(tokens, rows)

    @classmethod
    def open(
        cls,
        bundle: str | os.PathLike | None = None,
        *,
        taxonomy: TaxonomyLike = DEFAULT_TAXONOMY,
        threshold: float = DEFAULT_THRESHOLD,
        k: int = ExtractSettings.k,
        exact: bool | None = None,
        precision: Precision = "auto",
        providers: Providers = "auto",
        threads: int | None = None,
        index_dir: str | os.PathLike | None = None,
        strict: bool = False,
        progress: bool | None = None,
    ) -> SkillExtractor:
        """An extractor over `taxonomy` (embedded name, file path or Taxonomy; preferred labels) with the skill
        `bundle` (default: the default skill bundle); its label index is cached by content and built or rebuilt
        when needed (`strict=True` raises on a broken cached index instead)."""
        settings = ExtractSettings(threshold=threshold, k=k, exact=exact)
        encoder, labels = open_parts(bundle, kind="skill", taxonomy=taxonomy, include_alt=False, precision=precision,
                                     providers=providers, threads=threads, index_dir=index_dir, strict=strict,
                                     progress=progress)
        return cls(encoder, labels, settings)

    def extract(self, text: str) -> list[SkillMatch]:
        """Skills in `text`, best score per skill over the whole text, best first."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        return self.extract_batch([text])[0]

    def extract_batch(self, texts: Sequence[str]) -> list[list[SkillMatch]]:
        """`extract` for each text; the sentences of all texts are encoded together."""
        items = check_texts(texts)
        spans = [split_sentences(text) for text in items]
        flat = self.extract_sentences([span.text for text_spans in spans for span in text_spans])
        out, start = [], 0
        for text_spans in spans:
            out.append(merge_sentences(text_spans, flat[start:start + len(text_spans)]))
            start += len(text_spans)
        return out

    def extract_sentences(self, sentences: Sequence[str]) -> list[list[SkillMatch]]:
        """Per sentence, its skills above the threshold (at most `k`), best first, offsets within the sentence."""
        items = check_texts(sentences)
        out: list[list[SkillMatch]] = []
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

    def _extract_chunk(self, sentences: list[str]) -> list[list[SkillMatch]]:
        encoded = self.encoder.encode_tokens(sentences)
        token_list = [e.vectors for e in encoded]
        return [self._sentence_matches(sentence, e, rows)
                for sentence, e, rows in zip(sentences, encoded, self._candidate_rows(token_list))]

    def _sentence_matches(self, sentence: str, encoded: TokenEncoding, rows: np.ndarray) -> list[SkillMatch]:
        scores = self._scores(encoded.vectors, rows)
        found: list[SkillMatch] = []
        seen: set[int] = set()
        for i in np.argsort(-scores, kind="stable"):
            if scores[i] < self.settings.threshold or len(seen) >= self.settings.k:
                break
            owner = int(self.labels.owners[rows[i]])
            if owner in seen:
                continue
            seen.add(owner)
            concept = self.labels.taxonomy.concepts[owner]
            alpha = attention(encoded.vectors, self.labels.raw_vectors(rows[i:i + 1])[0])
            found.append(SkillMatch(concept.id, concept.label, round(float(scores[i]), 6), sentence, 0, len(sentence),
                                    evidence(sentence, alpha, encoded.offsets)))
        return found
