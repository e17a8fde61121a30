"""Job-title normalization: a messy title -> ranked taxonomy concepts (a concept scores by its best label).

`normalize` is the product answer (what `workvec normalize --json` prints): titles cleaned, a trailing
qualifier also searched without it, `no_match` below the calibrated floor; it is `plan` + `run` + `finish`
(workvec.runtime.title_job), the steps the service and the corpus job run with their own batching. `search`
is the raw nearest-label search of texts as given."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from workvec.errors import InputError
from workvec.runtime.encoder import Encoder, Precision, Providers
from workvec.runtime.opening import TaxonomyLike, open_parts
from workvec.runtime.labels import LabelIndex
from workvec.runtime.language import LanguageGuard
from workvec.runtime.settings import NormalizeSettings
from workvec.runtime.title_answer import TitleAnswer, no_match_floor
from workvec.runtime.title_job import TIE, TitleJob
from workvec.runtime.tokenizer import check_texts

# ESCO occupations (2,942 with 29,997 alternative and 70 hidden labels) over O*NET (1,016 titles, no alternatives): JobBERT
# validation MRR 0.366 with title cleaning (int8, exact; benchmarks/quality/tune_titles.py); O*NET cannot be scored
# there (no ESCO crosswalk) and missed 7 of 15 real titles (issue 12).
DEFAULT_TAXONOMY = "esco-occupations"
LABELS_PER_CONCEPT = 4  # labels fetched per wanted concept before de-duplicating to concepts


@dataclass(frozen=True)
class TitleMatch:
    """One candidate concept for a title: its best label's cosine (`score`, through `matched_label`) and the
    cosine of the title to the concept's own preferred label (`preferred`, which orders exact ties)."""

    id: str
    label: str
    score: float
    matched_label: str
    preferred: float = 0.0

    def to_json(self) -> dict:
        """JSON-ready dict (what `workvec normalize --json` prints; `preferred` is not part of it)."""
        return {"id": self.id, "label": self.label, "score": self.score, "matched_label": self.matched_label}


class TitleNormalizer:
    """Map job titles to concepts of a taxonomy with a title bundle and a label index."""

    def __init__(self, encoder: Encoder, labels: LabelIndex, *, floor: float | None | str = "calibrated") -> None:
        if "title" not in encoder.manifest.tasks:
            raise InputError("TitleNormalizer needs a title bundle (--kind title, or one whose manifest lists"
                             " the title task); this one is a skill bundle")
        self.encoder = encoder
        self.labels = labels
        # the no-match floor: calibrated for this model and taxonomy (None when not calibrated), or as given
        self.floor = no_match_floor(encoder, labels.taxonomy.name) if floor == "calibrated" else floor
        # each concept's preferred-label row (labels list it first, workvec.runtime.taxonomy.Taxonomy.labels)
        owners, first = np.unique(labels.owners, return_index=True)
        self._preferred = np.full(len(labels.taxonomy.concepts), -1, dtype=np.int64)
        self._preferred[owners] = first
        self.guard = LanguageGuard(encoder.manifest.languages)  # titles in other languages: no_match

    @classmethod
    def open(
        cls,
        bundle: str | os.PathLike | Encoder | None = None,
        *,
        taxonomy: TaxonomyLike = DEFAULT_TAXONOMY,
        precision: Precision = "auto",
        providers: Providers = "auto",
        threads: int | None = None,
        index_dir: str | os.PathLike | None = None,
        strict: bool = False,
        progress: bool | None = None,
    ) -> TitleNormalizer:
        """A normalizer over `taxonomy` (embedded name, file path or Taxonomy) with the title `bundle` (default:
        the default title bundle; an open Encoder is shared, not reopened). Its label index (preferred +
        alternative labels) is cached by content and built or rebuilt when needed (`strict=True` raises on a
        broken cached index instead)."""
        encoder, labels = open_parts(bundle, kind="title", taxonomy=taxonomy, include_alt=True, precision=precision,
                                     providers=providers, threads=threads, index_dir=index_dir, strict=strict,
                                     progress=progress)
        return cls(encoder, labels)

    def settings_for(self, settings: NormalizeSettings | None = None, **overrides) -> NormalizeSettings:
        """`settings` (default: NormalizeSettings()) with `overrides` that are not None, checked against this
        normalizer (a named taxonomy must be the loaded one)."""
        chosen = replace(settings or NormalizeSettings(), **{k: v for k, v in overrides.items() if v is not None})
        name = self.labels.taxonomy.name
        if chosen.taxonomy is not None and chosen.taxonomy != name:
            raise InputError(f"taxonomy {chosen.taxonomy!r} is not loaded; this normalizer answers from {name!r}"
                             f" (open one with taxonomy={chosen.taxonomy!r})")
        return chosen

    def plan(self, titles: Sequence[str], settings: NormalizeSettings | None = None, *, k: int | None = None,
             clean: bool | None = None) -> TitleJob:
        """The first phase of `normalize`: titles cleaned and the distinct texts to `search` (`job.texts`)."""
        return TitleJob.plan(titles, self.settings_for(settings, k=k, clean=clean), floor=self.floor, guard=self.guard)

    def normalize(self, titles: Sequence[str], settings: NormalizeSettings | None = None, *, k: int | None = None,
                  clean: bool | None = None) -> list[TitleAnswer]:
        """Per title its TitleAnswer, exactly what `workvec normalize --json` prints: the title cleaned (unless
        `clean=False`), up to `k` concepts (default 5) best first, `no_match` below the calibrated floor."""
        job = self.plan(titles, settings, k=k, clean=clean)
        return job.finish(self.run(job.texts, job.settings))

    def run(self, texts: Sequence[str], settings: NormalizeSettings | None = None) -> list[list[TitleMatch]]:
        """The model step of a job (`job.texts`): `search` with the settings' k, keeping the concepts that tie
        the k-th so that `finish` can order ties by meaning."""
        return self.search(texts, k=self.settings_for(settings).k, ties=True)

    def search(self, texts: Sequence[str], *, k: int = 5, ties: bool = False,
               batch_size: int = 64) -> list[list[TitleMatch]]:
        """The raw nearest-label search: per text as given (no cleaning, no floor), up to `k` concepts, best
        first (`ties`: and any further concepts that tie the k-th, within TIE). Blank texts get an empty list.
        A text's result never depends on the other texts."""
        if not isinstance(k, int) or isinstance(k, bool) or k <= 0:
            raise InputError(f"k must be a positive integer (got {k!r})")
        items = check_texts(texts)
        keep = [i for i, t in enumerate(items) if t.strip()]
        results: list[list[TitleMatch]] = [[] for _ in items]
        if not keep:
            return results
        vectors = self.encoder.encode([items[i] for i in keep], batch_size=batch_size)
        total = len(self.labels.labels)
        fetch = min(k * LABELS_PER_CONCEPT, total)
        rows, scores = self.labels.search(vectors, fetch)
        for slot, (r, s, vec) in enumerate(zip(rows, scores, vectors)):
            found = self._concepts(r, s, k, vec, ties)
            wider = fetch
            while len(found) < k and wider < total:  # a concept's many labels crowded the others out: widen
                wider = min(wider * 16, total)
                r2, s2 = self.labels.search(vec[None, :], wider)
                found = self._concepts(r2[0], s2[0], k, vec, ties)
            results[keep[slot]] = found
        return results

    def _concepts(self, rows: np.ndarray, scores: np.ndarray, k: int, vec: np.ndarray,
                  ties: bool) -> list[TitleMatch]:
        """Collapse label hits (sorted by score) to the first `k` distinct concepts (and those tying the k-th)."""
        out: list[TitleMatch] = []
        seen: set[int] = set()
        unit = vec / max(float(np.linalg.norm(vec)), 1e-12)
        for row, score in zip(rows.tolist(), scores.tolist()):
            owner = int(self.labels.owners[row])
            if owner in seen:
                continue
            score = round(float(score), 6)
            if len(out) >= k and (not ties or out[k - 1].score - score > TIE):
                break
            seen.add(owner)
            concept = self.labels.taxonomy.concepts[owner]
            preferred = float(self.labels.index.vectors()[self._preferred[owner]] @ unit)
            out.append(TitleMatch(concept.id, concept.label, score, self.labels.labels[row], round(preferred, 6)))
        return out
