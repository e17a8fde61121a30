"""ConTeXT-match skill extraction: job ad -> sentences -> candidate skills -> exact scores with evidence.

`extract` is the product answer (what `workvec extract --json` prints): sentences that state no requirement
skipped and listed, every skill at or above the threshold, near-duplicates grouped. It is `plan` + `run` +
`finish` (workvec.runtime.skill_job), the steps the service and the corpus job run with their own batching
and caching; each distinct sentence is encoded and scored once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from workvec.errors import InputError
from workvec.runtime.contextmatch import match_scores, max_cosines
from workvec.runtime.encoder import Encoder, Precision, Providers
from workvec.runtime.opening import TaxonomyLike, open_parts
from workvec.runtime.labels import LabelIndex
from workvec.runtime.language import LanguageGuard
from workvec.runtime.requirement import RequirementFilter, requirement_for
from workvec.runtime.sentence_outcome import sentence_outcomes
from workvec.runtime.settings import DEFAULT_THRESHOLD, ExtractSettings
from workvec.runtime.shaping import ShapeSettings
from workvec.runtime.skill_job import ExtractReport, SentenceOutcome, SkillJob
from workvec.runtime.tokenizer import check_texts

__all__ = ["DEFAULT_TAXONOMY", "DEFAULT_THRESHOLD", "SkillExtractor", "default_threshold"]

DEFAULT_TAXONOMY = "esco-skills"
SENTENCES_PER_CHUNK = 64  # bounded memory for long ads
BOUND_SLACK = 1e-4  # float32 rounding between the cosine bound and the exact score


def default_threshold(manifest) -> float:
    """The bundle's calibrated threshold (`skill_threshold` in its manifest), else DEFAULT_THRESHOLD."""
    return float(manifest.extra.get("skill_threshold", DEFAULT_THRESHOLD))


class SkillExtractor:
    """Find taxonomy skills in job-ad text with a skill bundle and a label index. `settings` are its defaults
    (threshold None: the bundle's calibrated one); any call may pass other settings."""

    def __init__(self, encoder: Encoder, labels: LabelIndex, settings: ExtractSettings = ExtractSettings(),
                 requirement: RequirementFilter | None = None) -> None:
        if "skill" not in encoder.manifest.tasks:
            raise InputError("SkillExtractor needs a --kind skill bundle (token embeddings); this one is a title bundle")
        self.encoder = encoder
        self.labels = labels
        if requirement is not None:
            requirement.check(encoder)
        self.requirement = requirement  # workvec.runtime.requirement: sentences it rejects are skipped, reported
        self.settings = self._resolve(settings, default_threshold(encoder.manifest))
        self.guard = LanguageGuard(encoder.manifest.languages)  # sentences in other languages: skipped

    @classmethod
    def open(
        cls,
        bundle: str | os.PathLike | Encoder | None = None,
        *,
        taxonomy: TaxonomyLike = DEFAULT_TAXONOMY,
        threshold: float | None = None,
        k: int | None = None,
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
        (refused unless trained for this model), False scores every sentence. `threshold` None: the bundle's
        calibrated one (`default_threshold`)."""
        settings = ExtractSettings(threshold=threshold, k=k, exact=exact,
                                   requirement_filter=requirement_filter is not False)  # bad options fail first
        encoder, labels = open_parts(bundle, kind="skill", taxonomy=taxonomy, include_alt=False, precision=precision,
                                     providers=providers, threads=threads, index_dir=index_dir, strict=strict,
                                     progress=progress)
        requirement = requirement_for(encoder, enabled=requirement_filter is not False,
                                      path=None if isinstance(requirement_filter, bool) else requirement_filter)
        return cls(encoder, labels, settings, requirement)

    @property
    def exact(self) -> bool:
        """Whether this extractor's default settings score every label (exact mode) or HNSW candidates."""
        return self._exact(self.settings)

    # -- the product answer and its phases -------------------------------------------------------------
    def extract(self, text: str, settings: ExtractSettings | None = None, **overrides) -> ExtractReport:
        """Skills in `text` (best sentence per skill, best first) and the sentences skipped: exactly what
        `workvec extract --json` prints. `overrides` (threshold, k, requirement_filter, exact) replace fields
        of `settings` (default: this extractor's)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        return self.extract_batch([text], settings, **overrides)[0]

    def extract_batch(self, texts: Sequence[str], settings: ExtractSettings | None = None,
                      **overrides) -> list[ExtractReport]:
        """`extract` for each text; each distinct sentence of all texts is encoded and scored once."""
        job = self.plan(texts, settings, **overrides)
        return job.finish(self.run(job.texts, job.settings))

    def settings_for(self, settings: ExtractSettings | None = None, **overrides) -> ExtractSettings:
        """Complete settings for a call: `settings` (default: this extractor's) with `overrides` that are not
        None, the threshold resolved, a named taxonomy checked against the loaded one."""
        chosen = replace(settings or self.settings, **{k: v for k, v in overrides.items() if v is not None})
        return self._resolve(chosen, self.settings.threshold)

    def plan(self, texts: Sequence[str], settings: ExtractSettings | None = None, **overrides) -> SkillJob:
        """The first phase of `extract_batch`: sentences split, the distinct ones listed (`job.texts`)."""
        return SkillJob.plan(texts, self.settings_for(settings, **overrides), guard=self.guard)

    def run(self, sentences: Sequence[str], settings: ExtractSettings | None = None) -> list[SentenceOutcome]:
        """Per sentence: skipped by the requirement filter, or its skills above the threshold (at most `k`),
        offsets within the sentence. A sentence's outcome never depends on the other sentences."""
        chosen = self.settings_for(settings)
        items = check_texts(sentences)
        out: list[SentenceOutcome] = []
        for start in range(0, len(items), SENTENCES_PER_CHUNK):
            out.extend(self._run_chunk(items[start:start + SENTENCES_PER_CHUNK], chosen))
        return out

    def score_sentence_tokens(self, tokens: np.ndarray, settings: ExtractSettings | None = None
                              ) -> tuple[np.ndarray, np.ndarray]:
        """Label rows and their exact ConTeXT-match scores for one sentence's token vectors, without the
        threshold: every label in exact mode, the HNSW candidates otherwise (for rankings and diagnostics)."""
        chosen = self.settings_for(settings)
        rows = np.arange(len(self.labels.labels)) if self._exact(chosen) else self._hnsw_candidates(tokens, chosen)
        return rows, self._scores(tokens, rows)

    # -- internals -------------------------------------------------------------------------------------
    def _resolve(self, settings: ExtractSettings, threshold: float) -> ExtractSettings:
        name = self.labels.taxonomy.name
        if settings.taxonomy is not None and settings.taxonomy != name:
            raise InputError(f"taxonomy {settings.taxonomy!r} is not loaded; this extractor answers from {name!r}"
                             f" (open one with taxonomy={settings.taxonomy!r})")
        return settings if settings.threshold is not None else replace(settings, threshold=threshold)

    def _exact(self, settings: ExtractSettings) -> bool:
        return settings.exact if settings.exact is not None else self.labels.index.mode == "exact"

    def _hnsw_candidates(self, tokens: np.ndarray, settings: ExtractSettings) -> np.ndarray:
        """Union of the HNSW neighbours of every token and of the mean token."""
        count = len(self.labels.labels)
        tok_rows, _ = self.labels.search(tokens, min(settings.token_k, count), ef=settings.ef)
        sent_rows, _ = self.labels.search(tokens.mean(axis=0, keepdims=True), min(settings.sentence_k, count),
                                          ef=settings.ef)
        return np.unique(np.concatenate([tok_rows.ravel(), sent_rows.ravel()]))

    def _scores(self, tokens: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact ConTeXT-match scores of the label `rows` (never copies more than those rows)."""
        every = len(rows) == len(self.labels.labels)  # rows are unique, so this is all of them, in order
        return match_scores(tokens, self.labels.raw_vectors(None if every else rows),
                            self.labels.norms if every else self.labels.norms[rows])

    def _candidate_rows(self, token_list: list[np.ndarray], settings: ExtractSettings) -> list[np.ndarray]:
        """Per sentence, the labels that can reach the threshold. Exact mode: every label whose best token
        cosine (an upper bound of its score) reaches it, so the result equals scoring all labels; HNSW mode:
        the neighbour union."""
        if not self._exact(settings):
            return [self._hnsw_candidates(tokens, settings) for tokens in token_list]
        bound = max_cosines(token_list, self.labels.index.vectors())
        return [np.flatnonzero(row >= settings.threshold - BOUND_SLACK) for row in bound]

    def _run_chunk(self, sentences: list[str], settings: ExtractSettings) -> list[SentenceOutcome]:
        encoded = self.encoder.encode_tokens(sentences)
        token_list = [e.vectors for e in encoded]
        requirement = self.requirement if settings.requirement_filter else None
        keep = requirement.keep(token_list) if requirement is not None else None
        # candidates only for the sentences the filter keeps (skipped ones cost no scoring)
        kept = [t for i, t in enumerate(token_list) if keep is None or keep[i]]
        rows = iter(self._candidate_rows(kept, settings))
        candidates = [next(rows) if keep is None or keep[i] else None for i in range(len(token_list))]
        shape = ShapeSettings(threshold=settings.threshold, k=settings.k)
        return sentence_outcomes(sentences, token_list, [e.offsets for e in encoded],
                                 lambda i: (candidates[i], self._scores(token_list[i], candidates[i])),
                                 self.labels, shape, keep)
