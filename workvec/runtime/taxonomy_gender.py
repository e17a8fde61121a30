"""Gendered ESCO labels split into their forms: "Technischer Leiter/Technische Leiterin" -> both labels.

ESCO writes an occupation's masculine and feminine forms in one label in languages with grammatical gender
(German and Spanish preferred labels nearly always: 2,791 and 2,438 of 3,039 in v1.2.0). A job ad uses one form,
so each form becomes a label of its own (the first, masculine, stays the preferred label; the others are
alternatives). Three ways ESCO writes them, all split:

- whole labels: "Technischer Leiter für Bühne/Technische Leiterin für Bühne", "director técnico/directora técnica"
  (first words of one stem), "Mönch/Nonne", "mayordomo de hostelería/gobernanta de hostelería" (the same words
  after the first);
- one word: "dentista equino/equina", "pirata informático/informática ético/ética" (each slash joins two forms of
  one word: the n-th forms go together);
- a suffix: "Lehrer/in", "Fachkrankenpfleger/in - Onkologie", "técnico/a", "redactor/a" ("Kollege/in" ->
  Kollegin, "técnico/a" -> técnica).

A slash that joins other things stays: "Import-/Exportmanager" (a German hyphen-slash), "impresión/encuadernación"
(two words of different stems). English labels are not split ("video/graphics technician" names two trades);
`esco_language` reads an ESCO export's language from its file name (occupations_de.csv, skills_es.csv).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

__all__ = ["concept_labels", "esco_language", "gender_forms"]

# `word/suffix`: Lehrer/in, técnico/a, employé/e (a short lower-case tail that is not a form of the word itself:
# "ético/ética" is two words)
_SUFFIX = re.compile(r"([^\W\d_]+)/([a-zà-ÿ]{1,5})(?=$|[\s,;:.)\-])")
_STEM = 3  # letters two forms of a word share at least (accents and case folded): Arzt/Ärztin, jefe/jefa


def esco_language(path: str | Path) -> str | None:
    """The ISO 639-1 code in an ESCO export's file name, a two-letter part after the first underscore
    (`occupations_de.csv`, `occupations_de_v1.2.0.csv.gz` -> "de"), else None."""
    parts = Path(path).name.lower().split(".", 1)[0].split("_")
    return next((p for p in parts[1:] if re.fullmatch(r"[a-z]{2}", p)), None)


def _fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word.casefold()) if not unicodedata.combining(c))


def _same_stem(a: str, b: str) -> bool:
    a, b = _fold(a), _fold(b)
    n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return n >= min(_STEM, len(a), len(b)) and n > 0


def _with_suffix(word: str, suffix: str) -> str:
    """The feminine of `word` given its suffix: Lehrer+in, Kollege+in -> Kollegin, técnico+a -> técnica."""
    if word and word[-1] in "oe" and suffix[0] in "ai" and word[-1] != suffix[0]:
        return word[:-1] + suffix
    return word + suffix


def _suffixes(label: str) -> list[re.Match]:
    return [m for m in _SUFFIX.finditer(label) if not (len(m[2]) >= _STEM and _same_stem(m[1], m[2]))]


def _suffix_forms(label: str) -> list[str]:
    """The label with every `word/suffix` as the word, then with the word's suffixed form."""
    found = _suffixes(label)
    if not found:
        return [label]
    forms = ["", ""]
    last = 0
    for m in found:
        forms = [forms[0] + label[last:m.start()] + m[1], forms[1] + label[last:m.start()] + _with_suffix(m[1], m[2])]
        last = m.end()
    return [f + label[last:] for f in forms]


def _split_slashes(label: str) -> list[int]:
    """Positions of the slashes that may join two forms: not a hyphen-slash (Import-/Export), not a suffix."""
    suffixes = {m.start(2) - 1 for m in _suffixes(label)}
    return [i for i, ch in enumerate(label) if ch == "/" and i not in suffixes and label[i - 1:i] != "-"]


def _whole_or_words(label: str) -> list[str]:
    """[label] or its forms split at the slashes that join two whole labels or two forms of one word."""
    slashes = _split_slashes(label)
    if not slashes:
        return [label]
    if len(slashes) == 1:
        left, right = label[: slashes[0]].strip(), label[slashes[0] + 1:].strip()
        lw, rw = left.split(), right.split()
        # whole labels: first words of one stem (not "técnico/técnica de sonido": one word, then more), or the
        # same words after different first ones (Mönch/Nonne, mayordomo de hostelería/gobernanta de hostelería)
        if lw and rw and ((_same_stem(lw[0], rw[0]) and not (len(lw) == 1 < len(rw)))
                          or (len(lw) == len(rw) and lw[1:] == rw[1:])):
            return [left, right]
    words = label.split(" ")
    forms: list[list[str]] = []
    for word in words:
        cut = _split_slashes(word)
        parts = [word[a + 1:b] for a, b in zip([-1, *cut], [*cut, len(word)])]
        if len(parts) > 1 and (any(not p for p in parts) or not all(_same_stem(parts[0], p) for p in parts[1:])):
            return [label]  # a slash between different words ("impresión/encuadernación"): not a gender pair
        forms.append(parts)
    width = {len(p) for p in forms if len(p) > 1}
    if len(width) != 1:
        return [label]
    n = width.pop()
    return [" ".join(p[k] if len(p) > 1 else p[0] for p in forms) for k in range(n)]


def gender_forms(label: str) -> tuple[str, ...]:
    """The forms written in one ESCO label, masculine first (the label itself when it holds one form)."""
    text = re.sub(r"\s*/\s*", "/", label.strip())
    text = re.sub(r"/{1,2}[mfwd]$", "", text).strip("/ ")  # "Pizzakoch//m": a gender marker
    if "/" not in text:
        return (text,) if text else ()
    out = [s for whole in _whole_or_words(text) for s in _suffix_forms(whole)]
    return tuple(dict.fromkeys(s.strip() for s in out if s.strip()))


def concept_labels(label: str, alt_labels: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """(preferred label, alternatives) with every label split into its forms: the preferred label's first form
    is preferred, its other forms lead the alternatives; repeats (exact) are dropped."""
    forms = gender_forms(label) or (label,)
    alts = [f for text in (*forms[1:], *(f for a in alt_labels for f in gender_forms(a))) for f in (text,)]
    return forms[0], tuple(a for a in dict.fromkeys(alts) if a != forms[0])
