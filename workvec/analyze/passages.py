"""Word passages of an ad, the unit that the corpus boilerplate rule counts (workvec.analyze.boilerplate).

An ad's words are the runs of letters and digits (`\\w+`, case-folded) of the sentences that `extract` reads
(`workvec.runtime.skill_job.text_spans`), in text order; its passages are its runs of `size` consecutive words,
across sentence boundaries (a sentence splitter's cut, "...including volunteer experience.Qualification...",
or a list line split off at a semicolon does not hide a repeated text). A passage is identified by a polynomial
hash of its words' ids (ids given in order of first sight, so the same corpus gives the same hashes; nothing
stores them).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

__all__ = ["AdPassages", "PassageCounts", "Passages"]

WORD = re.compile(r"\w+")
CACHE = 200_000  # distinct sentences whose words are kept (LRU): memory stays flat on any corpus
COMPACT = 2_000_000  # (passage, source) pairs buffered before they are grouped
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: the hash is a polynomial in it, modulo 2**64


@dataclass(frozen=True)
class AdPassages:
    """One ad's words (start/end offsets into its text) and its passage hashes (passage j holds words j ..
    j + size - 1; an ad with fewer words has none)."""

    starts: np.ndarray
    ends: np.ndarray
    hashes: np.ndarray  # uint64
    size: int

    def words_in(self, start: int, end: int) -> np.ndarray:
        """Indices of the words that overlap [start, end) (offsets into the ad text)."""
        return np.arange(np.searchsorted(self.ends, start, side="right"), np.searchsorted(self.starts, end))

    def covered(self, boilerplate: np.ndarray) -> np.ndarray:
        """Per word, whether a passage in `boilerplate` (sorted hashes) holds it."""
        if not len(self.hashes) or not len(boilerplate):
            return np.zeros(len(self.starts), dtype=bool)
        spot = np.minimum(np.searchsorted(boilerplate, self.hashes), len(boilerplate) - 1)
        marked = boilerplate[spot] == self.hashes
        running = np.concatenate([[0], np.cumsum(marked)])  # passages j in [i - size + 1, i] hold word i
        index = np.arange(len(self.starts))
        first = np.clip(index - self.size + 1, 0, len(marked))
        return running[np.clip(index + 1, 0, len(marked))] - running[first] > 0


class Passages:
    """Ads -> AdPassages; the words of each distinct sentence are cached by its text."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.ids: dict[str, int] = {}
        self.cache: OrderedDict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = OrderedDict()

    def _sentence(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(word ids, starts, ends) of one sentence (offsets within it)."""
        found = self.cache.get(text)
        if found is not None:
            self.cache.move_to_end(text)
            return found
        matches = list(WORD.finditer(text))
        ids = [self.ids.setdefault(m.group().lower(), len(self.ids) + 1) for m in matches]
        found = (np.array(ids, dtype=np.uint64), np.array([m.start() for m in matches], dtype=np.int64),
                 np.array([m.end() for m in matches], dtype=np.int64))
        self.cache[text] = found
        if len(self.cache) > CACHE:
            self.cache.popitem(last=False)
        return found

    def of(self, text: str, spans: np.ndarray) -> AdPassages:
        """The passages of an ad `text` whose read sentences are `spans` (rows of start, end offsets)."""
        parts = [(self._sentence(text[start:end]), start) for start, end in spans.tolist()]
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return AdPassages(empty, empty, np.zeros(0, dtype=np.uint64), self.size)
        ids = np.concatenate([p[0] for p, _ in parts])
        starts = np.concatenate([p[1] + start for p, start in parts])
        ends = np.concatenate([p[2] + start for p, start in parts])
        count = len(ids) - self.size + 1
        hashes = np.zeros(max(count, 0), dtype=np.uint64)
        for k in range(self.size if count > 0 else 0):
            hashes = hashes * _MULTIPLIER + ids[k:k + count]  # wraps modulo 2**64
        return AdPassages(starts, ends, hashes, self.size)


class PassageCounts:
    """For each passage, the ads that hold it and the distinct sources (ids) among them, over a stream of ads."""

    def __init__(self) -> None:
        self.pending: list[tuple[np.ndarray, int]] = []
        self.buffered = 0
        self.parts: list[pa.Table] = []

    def add(self, hashes: np.ndarray, source: int) -> None:
        """One ad's passage hashes and its source."""
        hashes = np.unique(hashes)
        self.pending.append((hashes, source))
        self.buffered += len(hashes)
        if self.buffered >= COMPACT:
            self._compact()

    def _compact(self) -> None:
        if not self.pending:
            return
        hashes = np.concatenate([h for h, _ in self.pending])
        sources = np.concatenate([np.full(len(h), s, dtype=np.int32) for h, s in self.pending])
        table = pa.table({"passage": hashes, "source": sources})
        self.parts.append(table.group_by(["passage", "source"]).aggregate([("passage", "count")]))
        self.pending, self.buffered = [], 0

    def table(self) -> pa.Table:
        """passage, ads, sources: one row per passage seen."""
        self._compact()
        if not self.parts:
            return pa.table({"passage": pa.array([], pa.uint64()), "ads": pa.array([], pa.int64()),
                             "sources": pa.array([], pa.int64())})
        pairs = pa.concat_tables(self.parts).group_by(["passage", "source"]).aggregate([("passage_count", "sum")])
        per = pairs.group_by("passage").aggregate([("passage_count_sum", "sum"), ("source", "count")])
        return per.rename_columns({"passage_count_sum_sum": "ads", "source_count": "sources"}).select(
            ["passage", "ads", "sources"])
