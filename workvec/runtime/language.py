"""The language guard: a text in a language the bundle was not trained for gets no confident wrong answer.

A bundle serves the languages its manifest lists (`Manifest.languages`; bundles without the field are
English-only, as every model workvec exported before multilingual exports). A title or sentence is *foreign*
when it is written in another script (most of its letters outside Latin: CJK, Cyrillic, Greek, Arabic, ...),
or when lingua (lingua-language-detector, its models inside the wheel, the `lang` extra), choosing among
CANDIDATES, puts another language ahead of English by at least MARGIN in confidence, or gives English at most
ENGLISH_AT_MOST. Measured by benchmarks/quality/language_guard.py (results/quality/language_guard.json):
MARGIN 0.4 with ENGLISH_AT_MOST 0.05 flags 0.2% of 2,000 JobBERT validation titles (English ads; some of
those flagged are Chinese), 0.3% of 1,000 USAJOBS titles and 0.13% of SkillSpan test sentences, and catches
88.1% of 1,500 German and 95.1% of 1,500 Spanish ESCO v1.2.0 occupation labels (the margin alone: 87.1% /
93.1%; margin 0.3: 0.65% of the JobBERT titles flagged). Short English titles such as "Barista", "Java Dev"
and "RN" pass. A foreign title is answered `no_match` with its language named and no candidates; a foreign
sentence is skipped with it (never scored). Without lingua installed only the script rule runs (a warning says
so once).
"""

from __future__ import annotations

import unicodedata
import warnings
from functools import lru_cache

__all__ = ["CANDIDATES", "ENGLISH_AT_MOST", "MARGIN", "LanguageGuard", "models_version"]

CANDIDATES = ("en", "de", "fr", "es", "nl", "pl", "it", "pt")  # the languages lingua chooses among
MARGIN = 0.4
ENGLISH_AT_MOST = 0.05  # also foreign when English's confidence is at most this (None: the margin alone)
_SCRIPTS = {"CJK": "zh", "HIRAGANA": "ja", "KATAKANA": "ja", "HANGUL": "ko", "CYRILLIC": "ru", "GREEK": "el",
            "ARABIC": "ar", "HEBREW": "he", "DEVANAGARI": "hi", "THAI": "th"}


def _script_language(text: str) -> str | None:
    """The language of a non-Latin script that holds most of the letters of `text`, else None."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return None
    counts: dict[str, int] = {}
    for ch in letters:
        name = unicodedata.name(ch, "")
        script = next((s for s in _SCRIPTS if name.startswith(s)), None)
        if script is not None:
            counts[script] = counts.get(script, 0) + 1
    if not counts:
        return None
    script, count = max(counts.items(), key=lambda item: item[1])
    return _SCRIPTS[script] if 2 * count > len(letters) else None


def models_version() -> str | None:
    """The installed lingua's version (its models decide), or None without it: part of a corpus run's rules."""
    from importlib import metadata

    try:
        return metadata.version("lingua-language-detector")
    except metadata.PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def _detector():
    """lingua's detector over CANDIDATES (loaded once; None without the package)."""
    try:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
    except ImportError:
        warnings.warn("the language guard runs its script rule only: pip install 'workvec[lang]' (lingua) so that"
                      " titles and sentences in other Latin-script languages are recognised", stacklevel=3)
        return None
    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in CANDIDATES]
    return LanguageDetectorBuilder.from_languages(*languages).build()


class LanguageGuard:
    """Which texts are in a language other than the ones a bundle serves."""

    def __init__(self, served: tuple[str, ...]) -> None:
        self.served = tuple(served)
        self.active = "en" in self.served and not set(self.served) - {"en"}  # English-only bundles are guarded

    def foreign(self, text: str) -> str | None:
        """The language `text` is written in when the bundle does not serve it (an ISO 639-1 code), else None."""
        if not self.active or not any(ch.isalpha() for ch in text):
            return None
        script = _script_language(text)
        if script is not None:
            return script
        detector = _detector()
        if detector is None:
            return None
        values = detector.compute_language_confidence_values(text)
        if not values:
            return None
        confidence = {v.language.iso_code_639_1.name.lower(): v.value for v in values}
        top = values[0].language.iso_code_639_1.name.lower()
        english = confidence.get("en", 0.0)
        low = ENGLISH_AT_MOST is not None and english <= ENGLISH_AT_MOST
        return top if top != "en" and (confidence[top] - english >= MARGIN or low) else None
