"""Readers for taxonomy files: ESCO CSV, O*NET 'Occupation Data.txt', generic CSV/TSV and JSONL.

Each reader turns decoded text into `Row`s (one per concept, with the line it starts on);
`workvec.runtime.taxonomy` checks them and builds the `Taxonomy`. An ESCO export in another language than English
(its file name says which: occupations_de.csv) has its gendered labels split into both forms (taxonomy_gender.py).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from workvec.errors import TaxonomyError
from workvec.runtime.taxonomy_gender import concept_labels, esco_language

KINDS: tuple[str, ...] = ("esco", "onet", "csv", "jsonl")

_SAVE_AS = "save it as UTF-8 CSV/TSV (with a header line) or JSONL (one JSON object per line)"
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a zip archive (an .xlsx workbook?)"),
    (b"PAR1", "a Parquet file"),
    (b"%PDF", "a PDF document"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
)


@dataclass(frozen=True)
class Row:
    """One concept as read from a file, before validation."""

    line: int
    id: str
    label: str
    alt_labels: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class _Columns:
    """Where a tabular format keeps each field, and what separates its alternative labels."""

    kind: str
    id: str
    label: str
    alt_labels: tuple[str, ...]  # every column whose labels count as alternatives
    description: str
    alt_separators: str


# ESCO's hiddenLabels are its search-only terms ("physician", "doctor", "surgeon" exist only there): searchable
_ESCO = _Columns("esco", "conceptUri", "preferredLabel", ("altLabels", "hiddenLabels"), "description", "\n")
_ONET = _Columns("onet", "O*NET-SOC Code", "Title", (), "Description", "")
_GENERIC = _Columns("csv", "id", "label", ("alt_labels",), "description", "\n|")
_TABLES: dict[str, _Columns] = {c.kind: c for c in (_ESCO, _ONET, _GENERIC)}


def read_text(path: Path) -> str:
    """Read a taxonomy file as UTF-8 text (gzip is undone); binary or non-UTF-8 input is an error."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        message = f"{path}: cannot read the taxonomy file ({exc.strerror}); check the path and permissions"
        raise TaxonomyError(message) from exc
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise TaxonomyError(f"{path}: corrupt gzip data ({exc}); re-download or re-compress the file") from exc
    what = next((name for magic, name in _MAGIC if data.startswith(magic)), None)
    if what is None and b"\x00" in data[:8192]:
        what = "binary data (it contains NUL bytes)"
    if what is not None:
        raise TaxonomyError(f"{path}: is {what}, not a CSV/TSV/JSONL text file; {_SAVE_AS}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise TaxonomyError(
            f"{path}: not valid UTF-8 at byte offset {exc.start} (line {line}, byte 0x{data[exc.start]:02x}); "
            "re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)"
        ) from exc
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise TaxonomyError(f"{path}: the file is empty; {_SAVE_AS}")
    return text


def detect_kind(path: Path, text: str) -> str:
    """Guess the format: JSONL by suffix or a leading '{', ESCO or O*NET by their header columns, else generic CSV."""
    head = text.lstrip()
    if path.name.lower().removesuffix(".gz").endswith((".jsonl", ".ndjson")) or head.startswith("{"):
        return "jsonl"
    if head.startswith("["):
        raise TaxonomyError(f"{path}: is a JSON array, not JSONL; write one JSON object per line")
    if head.startswith("<"):
        raise TaxonomyError(f"{path}: looks like XML/HTML, not a CSV/TSV/JSONL file; {_SAVE_AS}")
    header, _ = _table(text, path)
    if {"conceptUri", "preferredLabel", "altLabels"} & set(header):
        return "esco"
    if _ONET.id in header:
        return "onet"
    return "csv"


def parse(text: str, path: Path, kind: str) -> list[Row]:
    """Read every concept of `text` in the given format (one of KINDS)."""
    if kind == "jsonl":
        return _parse_jsonl(text, path)
    return _parse_table(text, path, _TABLES[kind])


def split_alts(value: object, separators: str) -> tuple[str, ...]:
    """Alternative labels from a string (split on any of `separators`) or a list; stripped, empties dropped."""
    if value is None:
        return ()
    if isinstance(value, str):
        for separator in separators[1:]:
            value = value.replace(separator, separators[0])
        items = value.split(separators[0]) if separators else [value]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = value
    else:
        raise TypeError(f"expected a string or a list of strings, got {type(value).__name__}")
    return tuple(filter(None, map(str.strip, items)))


def _table(text: str, path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """Header and (start line, record) pairs of a CSV/TSV text; the delimiter comes from the header line."""
    first = text.split("\n", 1)[0]
    delimiter = next((d for d in "\t,;" if d in first), None)
    if delimiter is None:
        raise TaxonomyError(
            f"{path}: not a CSV/TSV/JSONL file: its first line {first[:60]!r} has no comma, tab or semicolon, "
            "so it is not a header; add a header such as 'id,label,alt_labels' or write JSONL"
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header = [name.strip() for name in next(reader)]

    def records() -> Iterator[tuple[int, dict[str, str]]]:
        start = reader.line_num + 1
        try:
            for record in reader:
                if any(field.strip() for field in record):
                    yield start, dict(zip(header, record))
                start = reader.line_num + 1
        except csv.Error as exc:
            message = f"{path}: malformed CSV near line {reader.line_num} ({exc}); check its quoting"
            raise TaxonomyError(message) from exc

    return header, records()


def _alternatives(record: dict[str, str], columns: _Columns, label: str) -> tuple[str, ...]:
    """The first alternative-label column as written; later columns (ESCO's hidden labels) add only new labels."""
    found: list[str] = []
    for n, column in enumerate(columns.alt_labels):
        alts = split_alts(record.get(column, ""), columns.alt_separators)
        found += alts if n == 0 else [a for a in dict.fromkeys(alts) if a != label and a not in found]
    return tuple(found)


def _parse_table(text: str, path: Path, columns: _Columns) -> list[Row]:
    header, records = _table(text, path)
    missing = [name for name in (columns.id, columns.label) if name not in header]
    if missing:
        raise TaxonomyError(
            f"{path}: missing column {', '.join(map(repr, missing))} for the {columns.kind!r} format; "
            f"columns found: {', '.join(header)}. Rename the column(s) (generic files need 'id' and 'label'; "
            "ESCO 'conceptUri' and 'preferredLabel'; O*NET 'O*NET-SOC Code' and 'Title') or pass the right kind"
        )
    rows = [
        Row(
            line,
            record.get(columns.id, "").strip(),
            label := record.get(columns.label, "").strip(),
            _alternatives(record, columns, label),
            record.get(columns.description, "").strip(),
        )
        for line, record in records
    ]
    language = esco_language(path) if columns.kind == "esco" else None
    if language in (None, "en"):
        return rows
    return [Row(r.line, r.id, *concept_labels(r.label, r.alt_labels), r.description) if r.label else r for r in rows]


def _parse_jsonl(text: str, path: Path) -> list[Row]:
    rows = []
    for number, line in enumerate(text.split("\n"), 1):
        if line.strip():
            rows.append(_jsonl_row(_json_object(line, number, path), number, path))
    return rows


def _json_object(line: str, number: int, path: Path) -> dict[str, object]:
    """Decode one JSONL line, which must hold a JSON object."""
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise TaxonomyError(
            f"{path}: line {number} is not valid JSON ({exc.msg}, column {exc.colno}); "
            "JSONL needs one JSON object per line"
        ) from exc
    if not isinstance(value, dict):
        kind = type(value).__name__
        raise TaxonomyError(f"{path}: line {number} holds a JSON {kind}, not an object; write one object per line")
    return value


def _jsonl_row(value: dict[str, object], number: int, path: Path) -> Row:
    missing = [name for name in ("id", "label") if name not in value]
    if missing:
        raise TaxonomyError(
            f"{path}: line {number}: missing field {', '.join(map(repr, missing))}; fields found: {', '.join(value)}. "
            "Each line needs 'id' and 'label' (optional 'alt_labels', 'description')"
        )
    try:
        alts = split_alts(value.get("alt_labels"), "\n|")
    except TypeError as exc:
        message = f"{path}: line {number}: bad 'alt_labels' ({exc}); use a list of strings or one string"
        raise TaxonomyError(message) from exc
    return Row(number, _field(value["id"]), _field(value["label"]), alts, _field(value.get("description", "")))


def _field(value: object) -> str:
    return "" if value is None else str(value).strip()
