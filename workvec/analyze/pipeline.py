"""One shard of ads -> result tables, sharing work across ads, through the runtime's two-phase jobs.

A shard's ad texts are planned as one `SkillJob` (`SkillExtractor.plan`: the distinct sentences), and its
titles as one `TitleJob`. Job ads repeat themselves (benefits, equal-opportunity and company paragraphs), so
between the two phases sentence outcomes are cached by a hash of their text (a bounded LRU cache, per process):
only sentences not seen before run (`SkillExtractor.run`, sorted by length, in chunks for progress), and the
job's `finish` assembles each ad exactly as `SkillExtractor.extract` does for it alone. Titles likewise
(`TitleNormalizer.plan` / `search` / `finish`, answers cached per title). Results never depend on the batch
(workvec.runtime.encoder.BATCHING), so they equal `workvec extract` / `workvec normalize` ad by ad.
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyarrow as pa

from workvec.analyze.options import DEFAULT_SKILLS_TAXONOMY, DEFAULT_THRESHOLD, DEFAULT_TITLES_TAXONOMY
from workvec.analyze.rows import Ad
from workvec.analyze.shards import SKILLS_SCHEMA, ads_schema
from workvec.runtime.settings import NormalizeSettings

__all__ = ["Analyzer", "ModelSpec"]

CACHE_SENTENCES = 200_000  # LRU bound: memory stays flat on any corpus size
CACHE_TITLES = 100_000
SENTENCE_CHUNK = 256  # sentences matched per call (progress granularity; sorted by length inside a shard)
TITLE_K = 2  # the occupation and its runner-up
TITLE_CHUNK = 256  # titles answered per call


@dataclass(frozen=True)
class ModelSpec:
    """What the models are opened with (the same in every process of a run)."""

    title_bundle: str | None = None
    skill_bundle: str | None = None
    titles_taxonomy: str = DEFAULT_TITLES_TAXONOMY
    skills_taxonomy: str = DEFAULT_SKILLS_TAXONOMY
    threshold: float | None = DEFAULT_THRESHOLD
    precision: str = "auto"
    threads: int | None = None
    clean_titles: bool = True  # as `workvec normalize`: drop gender, seniority, shift and contract markers first

    def open_models(self):
        """The title normalizer and the skill extractor."""
        import workvec
        from workvec.runtime.opening import reuse_encoder

        titles = workvec.TitleNormalizer.open(self.title_bundle, taxonomy=self.titles_taxonomy,
                                              precision=self.precision, threads=self.threads, progress=False)
        shared = reuse_encoder(self.skill_bundle, "skill", [titles.encoder])  # one session for a two-task bundle
        skills = workvec.SkillExtractor.open(shared or self.skill_bundle, taxonomy=self.skills_taxonomy,
                                             threshold=self.threshold, precision=self.precision,
                                             threads=self.threads, progress=False)
        return titles, skills


class _LRU(OrderedDict):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key, value) -> None:
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)

    def hit(self, key):
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", errors="surrogatepass"), digest_size=16).digest()


class Analyzer:
    """Analyse batches of ads with one title normalizer and one skill extractor (and their caches)."""

    def __init__(self, spec: ModelSpec, groups: Sequence[str] = (), *, models=None) -> None:
        self.titles, self.skills = models if models is not None else spec.open_models()
        self.title_settings = self.titles.settings_for(NormalizeSettings(k=TITLE_K, clean=spec.clean_titles))
        self.skill_settings = self.skills.settings_for()
        self.groups = tuple(groups)
        self.sentence_cache = _LRU(CACHE_SENTENCES)
        self.title_cache = _LRU(CACHE_TITLES)

    def process(self, ads: Sequence[Ad], *, on_sentences: Callable[[int], None] | None = None
                ) -> tuple[pa.Table, pa.Table, dict]:
        """Result tables (ads, ad skills) for `ads` in their order, and counts for the manifest."""
        job = self.skills.plan([ad.text or "" for ad in ads], self.skill_settings)
        outcomes, matched = self._outcomes(job, on_sentences)
        reports = job.finish(outcomes)
        occupations = self._titles([ad.title for ad in ads])
        stats = {"sentences": sum(len(spans) for spans in job.spans), "matched": matched,
                 "titles": sum(1 for ad in ads if ad.title and ad.title.strip()),
                 "problems": dict(sorted(Counter(code for ad in ads for code, _ in ad.problems).items()))}
        ad_rows: list[dict] = []
        skill_rows: list[dict] = []
        for ad, spans, index, report, occ in zip(ads, job.spans, job.sentences, reports, occupations):
            ad_rows.append(self._ad_row(ad, occ, len(spans), len(report.skills)))
            found = _mentions(spans, [outcomes[i] for i in index])
            skill_rows.extend(_skill_row(ad, m, found[m.id]) for m in report.skills)
        ads_table = pa.Table.from_pylist(ad_rows, schema=ads_schema(self.groups))
        skills_table = pa.Table.from_pylist(skill_rows, schema=SKILLS_SCHEMA)
        return ads_table, skills_table, stats

    def _outcomes(self, job, on_sentences) -> tuple[list, int]:
        """The job's sentence outcomes: cached ones reused, the others run (sorted by length, in chunks)."""
        keys = [_key(text) for text in job.texts]
        if len(keys) > self.sentence_cache.size:  # every sentence of a shard must stay cached until assembled
            raise RuntimeError(f"a shard holds {len(keys):,} distinct sentences, more than the cache's"
                               f" {self.sentence_cache.size:,}; lower --shard-rows")
        todo = sorted((i for i, key in enumerate(keys) if self.sentence_cache.hit(key) is None),
                      key=lambda i: (len(job.texts[i]), keys[i]))
        for lo in range(0, len(todo), SENTENCE_CHUNK):
            chunk = todo[lo:lo + SENTENCE_CHUNK]
            for i, outcome in zip(chunk, self.skills.run([job.texts[i] for i in chunk], job.settings)):
                self.sentence_cache.put(keys[i], outcome)
            if on_sentences:
                on_sentences(len(chunk))
        return [self.sentence_cache.hit(key) for key in keys], len(todo)

    def _titles(self, titles: Sequence[str | None]) -> list:
        """Per title its TitleAnswer (what `workvec normalize` answers: cleaned, no_match below the floor), or
        None for a missing one."""
        todo = list(dict.fromkeys(t for t in titles if t and t.strip() and self.title_cache.hit(t) is None))
        for lo in range(0, len(todo), TITLE_CHUNK):
            chunk = todo[lo:lo + TITLE_CHUNK]
            for title, answer in zip(chunk, self.titles.normalize(chunk, self.title_settings)):
                self.title_cache.put(title, answer)
        return [self.title_cache.hit(t) if t and t.strip() else None for t in titles]

    def _ad_row(self, ad: Ad, answer, sentences: int, skills: int) -> dict:
        occ = answer.matches if answer is not None else ()
        top = occ[0] if occ else None
        second = occ[1] if len(occ) > 1 else None
        return {
            "row": ad.row, "id": ad.id, "title": ad.title,
            "occupation_id": top.id if top else None, "occupation_label": top.label if top else None,
            "occupation_score": top.score if top else None,
            "occupation_no_match": answer.no_match if answer is not None else None,
            "runner_up_id": second.id if second else None, "runner_up_label": second.label if second else None,
            "runner_up_score": second.score if second else None,
            "date": ad.date, "month": ad.month, "region": ad.region, "employer": ad.employer, **ad.groups,
            "text_chars": ad.text_chars, "sentences": sentences, "skills": skills,
            "status": ad.status, "error": ad.error,
        }


def _mentions(spans: Sequence, outcomes: Sequence) -> dict[str, list[dict]]:
    """Per skill id, every sentence of the ad it was found in (in text order) with that sentence's evidence, offsets
    into the ad text: not only the best sentence that `finish` keeps (the corpus boilerplate rule reads them all)."""
    found: dict[str, list[dict]] = {}
    for span, outcome in zip(spans, outcomes):
        for match in outcome.matches:
            moved = match.shifted(span.start)
            found.setdefault(match.id, []).append({
                "sentence_start": moved.sentence_start, "sentence_end": moved.sentence_end,
                "evidence": [{"start": e.start, "end": e.end} for e in moved.evidence]})
    return found


def _skill_row(ad: Ad, match, mentions: list[dict]) -> dict:
    return {"row": ad.row, "id": ad.id, "skill_id": match.id, "skill_label": match.label, "score": match.score,
            "sentence_start": match.sentence_start, "sentence_end": match.sentence_end,
            "evidence": [{"text": e.text, "start": e.start, "end": e.end, "weight": e.weight}
                         for e in match.evidence], "mentions": mentions}
