"""One shard of ads -> result tables, sharing work across ads.

Job ads repeat themselves (benefits, equal-opportunity and company paragraphs), so sentences are keyed by a
hash of their text and each distinct sentence is matched once per process (a bounded LRU cache). The sentences
still to match are batched across ads, sorted by length (less padding), and matched with the library's
`SkillExtractor.extract_sentences`; each ad is then assembled with `workvec.merge_sentences`, which is what
`SkillExtractor.extract` does for one ad. Titles go through `TitleNormalizer.normalize`, one distinct title per
call (cached per title too).
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

__all__ = ["Analyzer", "ModelSpec"]

CACHE_SENTENCES = 200_000  # LRU bound: memory stays flat on any corpus size
CACHE_TITLES = 100_000
SENTENCE_CHUNK = 256  # sentences matched per call (progress granularity; sorted by length inside a shard)
TITLE_K = 2  # the occupation and its runner-up


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
        self.clean_titles = spec.clean_titles
        self.groups = tuple(groups)
        self.sentence_cache = _LRU(CACHE_SENTENCES)
        self.title_cache = _LRU(CACHE_TITLES)

    def process(self, ads: Sequence[Ad], *, on_sentences: Callable[[int], None] | None = None
                ) -> tuple[pa.Table, pa.Table, dict]:
        """Result tables (ads, ad skills) for `ads` in their order, and counts for the manifest."""
        import workvec

        spans = [workvec.split_sentences(ad.text) if ad.text else [] for ad in ads]
        stats = self._match_sentences([s.text for ad_spans in spans for s in ad_spans], on_sentences)
        occupations = self._titles([ad.title for ad in ads])
        stats["titles"] = sum(1 for ad in ads if ad.title and ad.title.strip())
        stats["problems"] = dict(sorted(Counter(code for ad in ads for code, _ in ad.problems).items()))
        ad_rows: list[dict] = []
        skill_rows: list[dict] = []
        for ad, ad_spans, occ in zip(ads, spans, occupations):
            per_sentence = [self.sentence_cache.hit(_key(s.text)) for s in ad_spans]
            matches = workvec.merge_sentences(ad_spans, per_sentence) if ad_spans else []
            ad_rows.append(self._ad_row(ad, occ, len(ad_spans), len(matches)))
            skill_rows.extend(_skill_row(ad, m) for m in matches)
        ads_table = pa.Table.from_pylist(ad_rows, schema=ads_schema(self.groups))
        skills_table = pa.Table.from_pylist(skill_rows, schema=SKILLS_SCHEMA)
        return ads_table, skills_table, stats

    def _match_sentences(self, sentences: list[str], on_sentences) -> dict:
        """Match every sentence not cached yet, distinct ones once, sorted by length; returns counts."""
        keys = {_key(text): text for text in sentences}
        if len(keys) > self.sentence_cache.size:  # every sentence of a shard must stay cached until assembled
            raise RuntimeError(f"a shard holds {len(keys):,} distinct sentences, more than the cache's"
                               f" {self.sentence_cache.size:,}; lower --shard-rows")
        todo = {key: text for key, text in keys.items() if self.sentence_cache.hit(key) is None}
        ordered = sorted(todo.items(), key=lambda kv: (len(kv[1]), kv[0]))
        for lo in range(0, len(ordered), SENTENCE_CHUNK):
            chunk = ordered[lo:lo + SENTENCE_CHUNK]
            for (key, _), result in zip(chunk, self.skills.extract_sentences([t for _, t in chunk])):
                self.sentence_cache.put(key, result)
            if on_sentences:
                on_sentences(len(chunk))
        return {"sentences": len(sentences), "matched": len(todo)}

    def _titles(self, titles: Sequence[str | None]) -> list:
        """Per title its TitleAnswer (what `workvec normalize` answers: cleaned, no_match below the floor), or
        None for a missing one."""
        # One title per call: a title costs ~1/30 of an ad's sentences, and alone its vector cannot depend on
        # the other titles of a batch (padding changes fp32 sums in the last digit): exactly `answer([t])`.
        for title in dict.fromkeys(t for t in titles if t and t.strip() and self.title_cache.hit(t) is None):
            self.title_cache.put(title, self.titles.answer([title], k=TITLE_K, clean=self.clean_titles)[0])
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
            "date": ad.date, "month": ad.month, "region": ad.region, **ad.groups,
            "text_chars": ad.text_chars, "sentences": sentences, "skills": skills,
            "status": ad.status, "error": ad.error,
        }


def _skill_row(ad: Ad, match) -> dict:
    return {"row": ad.row, "id": ad.id, "skill_id": match.id, "skill_label": match.label, "score": match.score,
            "sentence_start": match.sentence_start, "sentence_end": match.sentence_end,
            "evidence": [{"text": e.text, "start": e.start, "end": e.end, "weight": e.weight}
                         for e in match.evidence]}
