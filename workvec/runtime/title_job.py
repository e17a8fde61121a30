"""Answering titles in two phases, so that every door batches the model run its own way and answers alike:

    job = titles.plan(["Sr. Java Dev (m/w/d)"], settings)   # clean, queries, the distinct texts to search
    found = titles.run(job.texts, job.settings)             # the model run (batchable across jobs)
    answers = job.finish(found)                              # TitleAnswer per title

A cleaned title that ends with a qualifier in brackets ("Java Developer (Spring Boot)") is also searched
without it, and each concept keeps its better score of the two: qualifiers pull every score down, but often
carry the occupation ("Intern (Marketing)"), so neither text alone is right. On JobBERT validation (2,195 of
15,463 titles end with one; shipped model, ESCO occupations) this moves MRR 0.3732 -> 0.3736 (preferred labels
only 0.3483 -> 0.3502; the bare title alone: 0.3695) and the real titles below the floor 4.8% -> 4.0% (7.9% ->
2.1% of those with a qualifier). Dropping other tails (" - Marketing") lowers MRR (0.3682) and is not done.

Ties are resolved by meaning, not by order: concepts whose scores are within TIE of each other (they share the
matched label, as "accountant" is both the occupation accountant's preferred label and an alternative label of
financial controller) are ordered by how close the title is to each concept's own preferred label (cosine), so
the concept named by the title comes first; the answer lists the concepts tied with the first (`tied_with`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from workvec.runtime.language import LanguageGuard
from workvec.runtime.settings import NormalizeSettings
from workvec.runtime.title_answer import TitleAnswer
from workvec.runtime.title_clean import clean_title
from workvec.runtime.tokenizer import check_texts

__all__ = ["TIE", "TitleJob", "title_queries"]

TIE = 1e-6  # scores this close are a tie (they are rounded to 6 decimals)

_QUALIFIER = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*$")  # a trailing "(...)" or "[...]"
_LETTER = re.compile(r"[^\W\d_]")


def title_queries(cleaned: Sequence[str], *, clean: bool = True) -> list[tuple[str, ...]]:
    """Per cleaned title the texts to search: itself and, when cleaning is on and it ends with a qualifier in
    brackets, itself without it (when a letter is left). A blank title searches nothing."""
    out = []
    for text in cleaned:
        if not text.strip():
            out.append(())
            continue
        bare = _QUALIFIER.sub("", text).strip() if clean else text
        out.append((text, bare) if bare != text and _LETTER.search(bare) else (text,))
    return out


@dataclass(frozen=True)
class TitleJob:
    """Titles planned for one settings value: `texts` are the distinct texts to search (each once, however
    often titles repeat), `finish` turns their candidates into one TitleAnswer per title."""

    titles: tuple[str, ...]
    cleaned: tuple[str, ...]
    queries: tuple[tuple[int, ...], ...]  # per title, indexes into `texts`
    texts: tuple[str, ...]
    settings: NormalizeSettings
    floor: float | None  # the no-match floor (None: never no_match, except for a blank title)
    languages: tuple[str | None, ...] = ()  # per title: its language when the guard keeps it from the search

    @classmethod
    def plan(cls, titles: Sequence[str], settings: NormalizeSettings, *, floor: float | None,
             guard: LanguageGuard | None = None) -> TitleJob:
        """Clean each title (unless `settings.clean` is off) and list what to search; a title the language
        `guard` finds foreign (when `settings.language_guard`) is not searched."""
        items = check_texts(titles)
        cleaned = [clean_title(t) if settings.clean else t for t in items]
        check = guard.foreign if guard is not None and settings.language_guard else (lambda text: None)
        languages = tuple(check(text) for text in cleaned)
        distinct: dict[str, int] = {}
        queries = tuple(() if language else tuple(distinct.setdefault(q, len(distinct)) for q in qs)
                        for qs, language in zip(title_queries(cleaned, clean=settings.clean), languages))
        return cls(tuple(items), tuple(cleaned), queries, tuple(distinct), settings, floor, languages)

    def finish(self, found: Sequence[Sequence]) -> list[TitleAnswer]:
        """TitleAnswers from the candidates of `texts` (TitleMatch lists, best first): each concept with its best
        score over its title's texts, best first, up to `k`; no_match where the best scores below the floor or
        there is none. Equal scores (concepts sharing a label) go by the text they came from, then by their rank
        in its list, so the order never depends on `k`; concepts that tie (within TIE) are ordered by their
        `preferred` cosine first."""
        if len(found) != len(self.texts):
            raise ValueError(f"{len(self.texts)} texts were planned but {len(found)} results came back")
        answers = []
        languages = self.languages or (None,) * len(self.titles)
        for title, text, texts, language in zip(self.titles, self.cleaned, self.queries, languages):
            best: dict = {}  # concept id -> ((-score, text index, rank), match): its best match and sort key
            for which, at in enumerate(texts):
                for rank, match in enumerate(found[at]):
                    key = (-match.score, which, rank)
                    if match.id not in best or key < best[match.id][0]:
                        best[match.id] = (key, match)
            ranked = _by_meaning([m for _, m in sorted(best.values(), key=lambda pair: pair[0])])
            tied = tuple(m.id for m in ranked[1:] if ranked[0].score - m.score <= TIE)
            matches = tuple(ranked[: self.settings.k])
            below = not matches or (self.floor is not None and matches[0].score < self.floor)
            answers.append(TitleAnswer(title, text, matches, below, tied, language))
        return answers


def _by_meaning(ranked: list) -> list:
    """`ranked` (best first) with each run of tied scores (within TIE of its first) ordered by the `preferred`
    cosine, highest first (stable: the text and rank order stays for exact equals)."""
    out, start = [], 0
    while start < len(ranked):
        end = start + 1
        while end < len(ranked) and ranked[start].score - ranked[end].score <= TIE:
            end += 1
        out.extend(sorted(ranked[start:end], key=lambda m: -getattr(m, "preferred", 0.0)))
        start = end
    return out
