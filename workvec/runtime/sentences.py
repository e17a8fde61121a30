"""Rule-based sentence splitter for job ads, with character offsets.

Why rules and not a trained splitter: nothing to download, fully deterministic,
and job ads are mostly bullet lists and one-item-per-line text where splitters
trained on prose add little. Skill evidence needs exact offsets into the source
text, which every :class:`Span` carries (``text == original[start:end]``).

Pipeline (every step is a linear scan; no backtracking-prone regexes):
lines -> inline bullets -> leading bullet/number stripped -> sentence-final
punctuation -> long-clause semicolons -> windows of at most ``max_chars``.
Segments without a single letter or digit (rules such as ``-----``) are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from workvec.errors import InputError

__all__ = ["Span", "iter_sentences", "split_sentences"]

DEFAULT_MAX_CHARS = 400
SEMICOLON_MIN_SIDE = 60  # both sides of a ';' must be longer than this to split

# Non-empty runs between str.splitlines() boundaries (CRLF, CR, LF, VT, FF, ...).
_LINE = re.compile(r"[^\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")
# Glyphs that open a new item even mid-line; '·' only when spaced (Catalan l·l).
_INLINE_BULLET = re.compile(r"[•▪◦●■►▸➢➤‣∙✓✔]|(?<=\s)·(?=\s)")
# One or more leading bullets / list numbers. Each repetition consumes a glyph.
_LEADING_BULLET = re.compile(
    r"\s*(?:(?:[•·▪◦●■►▸➢➤‣∙✓✔○◆⁃]|(?:[-*–—+]|\(?\d{1,2}[.)])(?=\s|$))\s*)+"
)
# Sentence-final punctuation run (+ closing quotes/brackets) before whitespace.
# The lookbehind anchors at the run's start so a long '....' run stays linear.
_SENTENCE_END = re.compile(r"(?<![.!?])[.!?]+[\"'”’)\]]*(?=\s)")
_GAP = re.compile(r"\s+[\"'“‘(\[]*")
_ALNUM = re.compile(r"[^\W_]")

_ABBREVIATIONS = frozenset(
    "e.g i.e etc dr mr mrs ms prof incl approx vs no nr st jr sr u.s u.k inc ltd "
    "co corp dept resp esp ca cf fig min max mgmt yrs exp ref".split()
)
_ABBREV_WINDOW = 12  # longer than any abbreviation above


@dataclass(frozen=True)
class Span:
    """A segment of the source text: ``text == original[start:end]``."""

    text: str
    start: int
    end: int


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink [start, end) past leading and trailing whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _lines(text: str) -> Iterator[tuple[int, int]]:
    """Each line break splits; blank lines vanish."""
    for m in _LINE.finditer(text):
        yield m.start(), m.end()


def _items(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Split a line at inline bullet glyphs, strip leading bullets, drop empty items."""
    cuts = [m.start() for m in _INLINE_BULLET.finditer(text, start, end)]
    for lo, hi in zip([start, *cuts], [*cuts, end]):
        m = _LEADING_BULLET.match(text, lo, hi)
        lo = m.end() if m else lo
        if _ALNUM.search(text, lo, hi):
            yield lo, hi


def _is_abbreviation(text: str, start: int, dot: int) -> bool:
    """True when the word ending just before the '.' at ``dot`` is an abbreviation."""
    words = text[max(start, dot - _ABBREV_WINDOW) : dot].split()
    if not words:
        return False
    return words[-1].lstrip("(\"'“‘[").lower() in _ABBREVIATIONS


def _sentences(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Split at . ! ? followed by whitespace and a capital letter or digit."""
    lo = start
    for m in _SENTENCE_END.finditer(text, start, end):
        gap = _GAP.match(text, m.end(), end)
        if gap is None or gap.end() >= end:
            continue
        nxt = text[gap.end()]
        if not (nxt.isupper() or nxt.isdigit()):
            continue
        if m.group().rstrip("\"'”’)]") == "." and _is_abbreviation(text, lo, m.start()):
            continue
        yield lo, m.end()
        lo = m.end()
    yield lo, end


def _clauses(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Split at ';' only when the text on both sides is longer than SEMICOLON_MIN_SIDE.

    ``start``/``end`` must be stripped; each whitespace run is scanned O(1) times.
    """
    lo = start
    semi = text.find(";", lo + SEMICOLON_MIN_SIDE + 1, end)
    while semi != -1:
        right = _strip(text, semi + 1, end)
        if right[1] - right[0] <= SEMICOLON_MIN_SIDE:
            break  # every later ';' has an even shorter right side
        left = _strip(text, lo, semi)
        if left[1] - left[0] > SEMICOLON_MIN_SIDE:
            yield lo, semi + 1
            lo = right[0]
            semi = text.find(";", lo + SEMICOLON_MIN_SIDE + 1, end)
        else:
            semi = text.find(";", semi + 1, end)
    yield lo, end


def _last_break(text: str, start: int, limit: int) -> int:
    """End offset of the best cut in text[start:limit]; ``limit`` if there is none.

    Cuts after the last comma or before the last whitespace, whichever is later.
    """
    comma = text.rfind(",", start, limit)
    cut = comma + 1 if comma != -1 else -1
    for ws in (" ", "\t", "\u00a0"):
        pos = text.rfind(ws, start + 1, limit + 1)
        cut = max(cut, pos)
    return cut if cut > start else limit


def _windows(text: str, start: int, end: int, max_chars: int) -> Iterator[tuple[int, int]]:
    """Cut a stripped segment into windows of at most ``max_chars`` characters."""
    start, end = _strip(text, start, end)
    while end - start > max_chars:
        cut = _last_break(text, start, start + max_chars)
        yield start, cut
        start, _ = _strip(text, cut, end)
    yield start, end


def _segments(text: str, max_chars: int) -> Iterator[Span]:
    """The splitting pipeline behind :func:`iter_sentences`."""
    for line in _lines(text):
        for item in _items(text, *line):
            for sentence in _sentences(text, *item):
                for clause in _clauses(text, *_strip(text, *sentence)):
                    for lo, hi in _windows(text, *clause, max_chars):
                        lo, hi = _strip(text, lo, hi)
                        if _ALNUM.search(text, lo, hi):
                            yield Span(text[lo:hi], lo, hi)


def iter_sentences(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> Iterator[Span]:
    """Stream the segments of ``text`` in order; none is longer than ``max_chars``.

    Arguments are checked eagerly, before the first segment is requested.
    """
    if max_chars < 1:
        raise InputError(f"max_chars must be >= 1, got {max_chars}")
    return _segments(text, max_chars)


def split_sentences(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[Span]:
    """All segments of ``text`` as a list (``[]`` for empty or whitespace-only input)."""
    return list(iter_sentences(text, max_chars))
