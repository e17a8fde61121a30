"""Corpus boilerplate: text that many ads share across employers and jobs is boilerplate, whatever it says.

The rule: a passage (8 consecutive words of an ad, workvec.analyze.passages) is boilerplate for a corpus
when it is in at least `min_ads` ads that come from at least `min_sources` distinct sources, a source being an
(employer, occupation) pair: different employers, or one employer's different jobs. Equal-opportunity lines,
benefits, agency paragraphs and application instructions repeat across employers or across one agency's jobs;
a job's own duties, repeated in one employer's many ads for that job, do not. The employer is the ad's
`employer` (the --employer-col column, by default the first of employer, company, ..., department present; ads
without one share one unknown employer), the occupation its top-1 occupation in ads.parquet. A short line such
as "Python." between other text is not boilerplate unless the text around it repeats with it.

A skill mention is boilerplate when every word of its evidence lies in a boilerplate passage, and a skill of an
ad when each of its mentions (every sentence of the ad it was found in, ad_skills.parquet's `mentions`) is: its
row stays in ad_skills.parquet with `boilerplate = true`, and the aggregates, tables and plots leave it out
unless the rule's `include` (--include-boilerplate). Decided at finalisation, in two more passes over the
inputs (their texts are not stored): count the passages, then judge the shards' skill rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workvec.analyze.options import BOILERPLATE_WORDS, DEFAULT_BOILERPLATE_ADS, DEFAULT_BOILERPLATE_SOURCES
from workvec.analyze.passages import AdPassages, PassageCounts, Passages
from workvec.analyze.rows import Ad
from workvec.errors import InputError
from workvec.runtime.skill_job import text_spans

__all__ = ["Boilerplate", "BoilerplateRule", "find_boilerplate"]

SENTENCES_SHOWN = 200  # rows of aggregates/boilerplate_sentences


@dataclass(frozen=True)
class BoilerplateRule:
    """When text is boilerplate, and whether the aggregates count skills found only in it anyway."""

    min_ads: int = DEFAULT_BOILERPLATE_ADS
    min_sources: int = DEFAULT_BOILERPLATE_SOURCES
    passage_words: int = BOILERPLATE_WORDS
    include: bool = False

    def __post_init__(self) -> None:
        for flag, value in (("--boilerplate-ads", self.min_ads), ("--boilerplate-sources", self.min_sources),
                            ("passage_words", self.passage_words)):
            if value < 1:
                raise InputError(f"{flag} must be at least 1 (got {value})")

    def describe(self) -> str:
        """The rule in words, for the report."""
        return (f"a passage of {self.passage_words} consecutive words in >= {self.min_ads} ads from >="
                f" {self.min_sources} distinct (employer, occupation) pairs")


@dataclass(frozen=True)
class Boilerplate:
    """The rule's verdict on one corpus: per skill row (in shard order) whether it is boilerplate."""

    rule: BoilerplateRule
    flags: np.ndarray
    sentences: pa.Table  # the sentences that gave boilerplate-only skills (aggregates/boilerplate_sentences)
    counts: dict

    def marker(self) -> Callable[[pa.Table], pa.Table]:
        """A transform for ShardStore.combine: each shard's skills table (in shard order) with `boilerplate`."""
        done = [0]

        def mark(table: pa.Table) -> pa.Table:
            flags = self.flags[done[0]:done[0] + table.num_rows]
            done[0] += table.num_rows
            return table.append_column(pa.field("boilerplate", pa.bool_()), pa.array(flags, pa.bool_()))

        return mark

    def summary(self) -> dict:
        """JSON-ready counts for run.json and the report."""
        return {"rule": self.rule.describe(), "min_ads": self.rule.min_ads, "min_sources": self.rule.min_sources,
                "passage_words": self.rule.passage_words, "included": self.rule.include,
                "skill_rows": int(self.flags.sum()), **self.counts}


def _verdict(skill: dict, words: AdPassages, covered: np.ndarray) -> bool:
    """Whether every evidence word of every mention of one skill row lies in a boilerplate passage."""
    found = [words.words_in(e["start"], e["end"]) for m in skill["mentions"] or () for e in m["evidence"]]
    found = [w for w in found if len(w)]
    return bool(found) and all(covered[w].all() for w in found)


def _origins(origins: dict[str, list[str]]) -> pa.Table:
    """aggregates/boilerplate_sentences: per sentence, its boilerplate-only mentions and their skills."""
    rows = sorted(origins.items(), key=lambda item: (-len(item[1]), item[0]))[:SENTENCES_SHOWN]
    return pa.table({"sentence": [text for text, _ in rows], "mentions": [len(labels) for _, labels in rows],
                     "skills": ["; ".join(sorted(set(labels))) for _, labels in rows]},
                    schema=pa.schema([("sentence", pa.string()), ("mentions", pa.int64()), ("skills", pa.string())]))


def find_boilerplate(shards: Callable[[], Iterable[tuple[int, list[Ad]]]], skills_of: Callable[[int], pa.Table],
                     occupations: dict[int, str | None], rule: BoilerplateRule) -> Boilerplate:
    """Apply `rule` to a corpus in two passes over `shards()` (the run's (shard, ads) as the plan reads them
    again): count every passage, then judge every skill row. `skills_of(k)`: shard k's skill rows (row,
    skill_label, sentence_start, sentence_end, mentions); `occupations`: each row's occupation id."""
    passages, counts = Passages(rule.passage_words), PassageCounts()
    sources: dict[tuple[str, str | None], int] = {}
    read: dict[int, np.ndarray] = {}  # per row, its read sentences' (start, end)
    for _, ads in shards():
        for ad in ads:
            if ad.text is None:
                continue
            read[ad.row] = np.array([(span.start, span.end) for span in text_spans(ad.text)[0]], dtype=np.int64)
            source = sources.setdefault((ad.employer or "", occupations.get(ad.row)), len(sources))
            counts.add(passages.of(ad.text, read[ad.row]).hashes, source)
    table = counts.table()
    chosen = pc.and_(pc.greater_equal(table.column("ads"), rule.min_ads),
                     pc.greater_equal(table.column("sources"), rule.min_sources))
    boilerplate = np.sort(table.filter(chosen).column("passage").to_numpy())
    flags: list[bool] = []
    origins: dict[str, list[str]] = {}
    for shard, ads in shards():
        by_row: dict[int, list[dict]] = {}
        for skill in skills_of(shard).to_pylist():
            by_row.setdefault(skill["row"], []).append(skill)
        for ad in ads:
            if ad.row not in by_row:
                continue
            words = passages.of(ad.text, read[ad.row])
            covered = words.covered(boilerplate)
            for skill in by_row.pop(ad.row):
                flags.append(_verdict(skill, words, covered))
                if flags[-1]:
                    origins.setdefault(ad.text[skill["sentence_start"]:skill["sentence_end"]], []).append(
                        skill["skill_label"])
        if by_row:
            raise RuntimeError(f"shard {shard} has skill rows of ads the inputs no longer hold (rows"
                               f" {sorted(by_row)[:3]}); the inputs changed since the run: start it again")
    return Boilerplate(rule, np.array(flags, dtype=bool), _origins(origins),
                       {"passages": table.num_rows, "boilerplate_passages": len(boilerplate),
                        "sources": len(sources)})
