"""Extracting skills in two phases, so that every door batches the model run its own way and answers alike:

    job = skills.plan([ad1, ad2], settings)     # split into sentences; the distinct ones, each once
    outcomes = skills.run(job.texts, job.settings)  # per sentence: skipped, or its skills (batchable)
    reports = job.finish(outcomes)              # ExtractReport per text: skills merged, skipped listed

A text over MAX_TEXT_BYTES (UTF-8) is read up to its last sentence that ends within that many bytes, and its
report says `truncated` (the corpus job's `truncated` status is the same rule): the same cut in every door.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from workvec.errors import InputError
from workvec.runtime.evidence import Evidence
from workvec.runtime.language import LanguageGuard
from workvec.runtime.sentences import Span, split_sentences
from workvec.runtime.settings import ExtractSettings
from workvec.runtime.shaping import Related
from workvec.runtime.tokenizer import check_texts

__all__ = ["MAX_TEXT_BYTES", "ExtractReport", "SentenceOutcome", "SkillJob", "SkillMatch", "SkippedSentence",
           "merge_sentences", "readable_part"]

MAX_TEXT_BYTES = 1_000_000


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


@dataclass(frozen=True)
class SkippedSentence:
    """A sentence the requirement filter skipped; offsets into the text passed to extract."""

    text: str
    start: int
    end: int
    skipped: str

    def to_json(self) -> dict:
        """JSON-ready dict."""
        return {"sentence": self.text, "start": self.start, "end": self.end, "skipped": self.skipped}


@dataclass(frozen=True)
class SentenceOutcome:
    """One sentence's result: `skipped` (the reason) or None, and its skills (offsets within the sentence)."""

    skipped: str | None
    matches: tuple[SkillMatch, ...]


@dataclass(frozen=True)
class ExtractReport:
    """One text's answer, exactly what `workvec extract --json` prints: its skills (best sentence per skill,
    best first), the sentences the requirement filter skipped, and whether the text was cut at MAX_TEXT_BYTES."""

    skills: tuple[SkillMatch, ...]
    skipped: tuple[SkippedSentence, ...] = ()
    truncated: bool = False

    def to_json(self) -> dict:
        """JSON-ready dict."""
        return {"skills": [m.to_json() for m in self.skills], "skipped": [s.to_json() for s in self.skipped],
                "truncated": self.truncated}


def merge_sentences(spans: Sequence[Span], per_sentence: Sequence[Sequence[SkillMatch]]) -> list[SkillMatch]:
    """One text's matches from its sentences' (offsets within each sentence): offsets moved into the text, the
    best sentence kept per skill (the first on ties), best first."""
    if len(spans) != len(per_sentence):
        raise InputError(f"{len(spans)} spans but {len(per_sentence)} sentence results; pass one result per span")
    best: dict[str, SkillMatch] = {}
    for span, matches in zip(spans, per_sentence):
        for match in matches:
            if match.id not in best or match.score > best[match.id].score:
                best[match.id] = match.shifted(span.start)
    return sorted(best.values(), key=lambda m: -m.score)


def readable_part(text: str) -> tuple[str, bool]:
    """(the prefix of `text` within MAX_TEXT_BYTES UTF-8 bytes, whether it was cut)."""
    if len(text) * 4 <= MAX_TEXT_BYTES:  # no character takes more than 4 bytes
        return text, False
    data = text.encode("utf-8", errors="surrogatepass")
    if len(data) <= MAX_TEXT_BYTES:
        return text, False
    for back in range(4):  # step back off a cut multi-byte character
        try:
            return data[:MAX_TEXT_BYTES - back].decode("utf-8", errors="surrogatepass"), True
        except UnicodeDecodeError:
            continue
    raise AssertionError("unreachable: UTF-8 characters are at most 4 bytes")


def text_spans(text: str) -> tuple[list[Span], bool]:
    """The sentences `extract` scores in `text` (offsets into it) and whether it was cut at MAX_TEXT_BYTES (then
    the last sentence within the limit, which may be cut, is left out too)."""
    part, cut = readable_part(text)
    spans = split_sentences(part)
    return (spans[:-1] if cut else spans), cut


@dataclass(frozen=True)
class SkillJob:
    """Texts planned for one settings value: `texts` are the distinct sentences to run (each once, however
    often they repeat within or across texts); `finish` assembles one ExtractReport per text."""

    spans: tuple[tuple[Span, ...], ...]
    sentences: tuple[tuple[int, ...], ...]  # per text, per span: index into `texts`, or -1 - index into `held`
    truncated: tuple[bool, ...]
    texts: tuple[str, ...]
    settings: ExtractSettings
    held: tuple[str, ...] = ()  # why a sentence is not run: "language de" (the language guard)

    @classmethod
    def plan(cls, texts: Sequence[str], settings: ExtractSettings, *, guard: LanguageGuard | None = None) -> SkillJob:
        """Split each text into sentences (workvec.runtime.sentences) and list the distinct ones; a sentence the
        language `guard` finds foreign (when `settings.language_guard`) is held back and reported skipped."""
        items = check_texts(texts)
        check = guard.foreign if guard is not None and settings.language_guard else (lambda text: None)
        distinct: dict[str, int] = {}
        held: dict[str, int] = {}
        reasons: list[str] = []
        spans, index, cuts = [], [], []

        def slot(sentence: str) -> int:
            if sentence in distinct:
                return distinct[sentence]
            if sentence not in held:
                language = check(sentence)
                if language is None:
                    return distinct.setdefault(sentence, len(distinct))
                held[sentence] = -1 - len(reasons)
                reasons.append(f"language {language}")
            return held[sentence]

        for text in items:
            found, cut = text_spans(text)
            spans.append(tuple(found))
            index.append(tuple(slot(s.text) for s in found))
            cuts.append(cut)
        return cls(tuple(spans), tuple(index), tuple(cuts), tuple(distinct), settings, tuple(reasons))

    def finish(self, outcomes: Sequence[SentenceOutcome]) -> list[ExtractReport]:
        """One ExtractReport per text from the outcomes of `texts`, in order."""
        if len(outcomes) != len(self.texts):
            raise ValueError(f"{len(self.texts)} sentences were planned but {len(outcomes)} outcomes came back")
        reports = []
        for spans, index, cut in zip(self.spans, self.sentences, self.truncated):
            mine = [outcomes[i] if i >= 0 else SentenceOutcome(self.held[-1 - i], ()) for i in index]
            skipped = tuple(SkippedSentence(s.text, s.start, s.end, o.skipped) for s, o in zip(spans, mine) if o.skipped)
            skills = merge_sentences(spans, [o.matches for o in mine])
            reports.append(ExtractReport(tuple(skills), skipped, cut))
        return reports
