"""Taxonomies (ESCO skills/occupations, O*NET-SOC, custom lists): concepts with preferred and alternative labels.

`load_taxonomy` takes an embedded name (see `EMBEDDED`) or a path to ESCO's CSV release, O*NET's
'Occupation Data.txt', or a generic CSV/TSV/JSONL file with `id`, `label`, `alt_labels`, `description`.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from workvec.errors import TaxonomyError
from workvec.runtime.taxonomy_formats import KINDS, Row, detect_kind, parse, read_text

DATA_DIR = Path(__file__).with_name("data")
EMBEDDED: tuple[str, ...] = ("esco-skills", "onet", "esco-occupations", "esco-occupations-de", "esco-occupations-es")
EMBEDDED_HEADER = "id\tlabel\talt_labels\n"
_SHOWN = 5


@dataclass(frozen=True)
class Concept:
    """One taxonomy entry: a stable id, its preferred label and alternative labels."""

    id: str
    label: str
    alt_labels: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Taxonomy:
    """A named, ordered collection of concepts."""

    name: str
    concepts: tuple[Concept, ...]
    _sha256: str = field(default="", init=False, repr=False, compare=False)

    @property
    def sha256(self) -> str:
        """Hex SHA-256 over ids, preferred labels and alternative labels (not the name or descriptions)."""
        if not self._sha256:
            # Unit/record separators with the alt-label count: unambiguous, and 5x faster than JSON-encoding
            # (part of every cold start, since label indexes are keyed by it).
            payload = "\x1e".join(f"{c.id}\x1f{c.label}\x1f{len(c.alt_labels)}\x1f" + "\x1f".join(c.alt_labels)
                                   for c in self.concepts)
            object.__setattr__(self, "_sha256", hashlib.sha256(("v2\x1e" + payload).encode("utf-8")).hexdigest())
        return self._sha256

    @classmethod
    def open(cls, source: str | os.PathLike[str], *, kind: str | None = None) -> Taxonomy:
        """An embedded taxonomy by name (see `EMBEDDED`) or a taxonomy file (see `load_taxonomy`)."""
        return load_taxonomy(source, kind)

    def labels(self, include_alt: bool = True) -> tuple[list[str], list[int]]:
        """All label strings (preferred first per concept, then alternatives, deduplicated
        case-insensitively within a concept) and, parallel to it, the index of the owning concept."""
        texts: list[str] = []
        owners: list[int] = []
        for index, concept in enumerate(self.concepts):
            seen: set[str] = set()
            for text in (concept.label, *concept.alt_labels) if include_alt else (concept.label,):
                key = text.casefold()
                if key not in seen:
                    seen.add(key)
                    texts.append(text)
                    owners.append(index)
        return texts, owners

    def __len__(self) -> int:
        return len(self.concepts)


def load_taxonomy(source: str | os.PathLike[str], kind: str | None = None) -> Taxonomy:
    """Load an embedded taxonomy by name, or a taxonomy file.

    source: a name from `EMBEDDED` (a plain string; embedded names win over files of the same
    name), or a path to ESCO's skills_en.csv / occupations_en.csv (detected by the columns
    conceptUri + preferredLabel), an O*NET 'Occupation Data.txt' (tab-separated 'O*NET-SOC Code',
    'Title', 'Description'), or a generic .csv/.tsv/.jsonl (id, label[, alt_labels][, description];
    CSV alt_labels separated by newlines or '|', JSONL alt_labels a list or such a string).
    Gzip-compressed files are read too.
    kind: force a format, one of KINDS ("esco", "onet", "csv", "jsonl"); None detects it.
    The name of a file's taxonomy is the file name without its extension.
    Raises TaxonomyError naming the file, the problem and the fix.
    """
    if kind is not None and kind not in KINDS:
        raise TaxonomyError(f"unknown taxonomy kind {kind!r}; use one of {', '.join(KINDS)} or None to detect it")
    if isinstance(source, str) and source in EMBEDDED and kind is None:
        return _load_embedded(source)
    path = Path(source)
    _check_file(path, source)
    stem = path.name.removesuffix(".gz")
    return _load_file(path, kind, stem.rsplit(".", 1)[0] if "." in stem else stem)


def _load_embedded(name: str) -> Taxonomy:
    path = DATA_DIR / f"{name}.tsv.gz"
    if not path.is_file():
        raise TaxonomyError(
            f"embedded taxonomy {name!r} is missing its data file {path}; reinstall workvec "
            "or rebuild it with scripts/build_taxonomies.py"
        )
    text = read_text(path)
    if '"' in text or not text.startswith(EMBEDDED_HEADER):  # not our plain TSV: take the validating path
        return _load_file(path, "csv", name)
    # Our own unquoted TSV (scripts/build_taxonomies.py): split it directly, 5x faster than the csv module
    # (ESCO skills 0.32 -> 0.06 s, which is most of a skill extractor's cold start).
    rows = (line.split("\t") for line in text.split("\n")[1:] if line)
    return Taxonomy(name, tuple(Concept(i.strip(), label.strip(), tuple(filter(None, map(str.strip, alts.split("|")))))
                                for i, label, alts in rows))


def _load_file(path: Path, kind: str | None, name: str) -> Taxonomy:
    text = read_text(path)
    rows = parse(text, path, kind or detect_kind(path, text))
    if not rows:
        raise TaxonomyError(f"{path}: holds no concepts (only a header?); add one row per concept")
    problems = _problems(rows)
    if problems:
        raise TaxonomyError(f"{path}: " + "; ".join(problems))
    return Taxonomy(name, tuple(Concept(r.id, r.label, r.alt_labels, r.description) for r in rows))


def _check_file(path: Path, source: str | os.PathLike[str]) -> None:
    """Raise a TaxonomyError unless `path` is an existing regular file."""
    if path.is_dir():
        found = sorted(p.name for p in path.iterdir() if p.suffix.lower() in {".csv", ".tsv", ".txt", ".jsonl", ".gz"})
        hint = f" (it holds {', '.join(found[:_SHOWN])})" if found else ""
        raise TaxonomyError(f"{path}: is a directory, not a taxonomy file; pass a file inside it{hint}")
    if path.exists() and not path.is_file():
        raise TaxonomyError(f"{path}: is not a regular file; pass a CSV/TSV/JSONL taxonomy file")
    if path.exists():
        return
    if isinstance(source, str) and not path.suffix and len(path.parts) == 1:
        raise TaxonomyError(
            f"unknown taxonomy {source!r}: not an embedded name and no such file; "
            f"embedded taxonomies: {', '.join(EMBEDDED)}"
        )
    raise TaxonomyError(
        f"{path}: no such taxonomy file; check the path, or use an embedded name ({', '.join(EMBEDDED)})"
    )


def _problems(rows: list[Row]) -> list[str]:
    """Describe empty ids, empty labels and duplicate ids, with line numbers."""
    problems = []
    empty_ids = [row.line for row in rows if not row.id]
    if empty_ids:
        problems.append(f"empty id on line {_few(empty_ids)}; give every row a unique id")
    empty_labels = [row.line for row in rows if not row.label]
    if empty_labels:
        problems.append(f"empty label on line {_few(empty_labels)}; give every row a preferred label or drop it")
    counts = Counter(row.id for row in rows if row.id)
    duplicates = [identifier for identifier, count in counts.items() if count > 1]
    if duplicates:
        lines = {identifier: [row.line for row in rows if row.id == identifier] for identifier in duplicates[:3]}
        examples = ", ".join(f"{identifier!r} (lines {_few(numbers)})" for identifier, numbers in lines.items())
        problems.append(
            f"{len(duplicates)} duplicate id{'s' if len(duplicates) > 1 else ''}, e.g. {examples}; "
            "ids must be unique: merge or drop the repeated rows"
        )
    return problems


def _few(numbers: list[int]) -> str:
    """'3, 9, 12' or '3, 9, 12, 20, 31 and 4 more'."""
    shown = ", ".join(map(str, numbers[:_SHOWN]))
    return shown + (f" and {len(numbers) - _SHOWN} more" if len(numbers) > _SHOWN else "")
