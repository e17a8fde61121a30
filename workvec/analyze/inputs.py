"""Corpus inputs: CSV, JSONL (optionally .gz) and Parquet files or folders, read as a stream of row batches.

Columns are mapped once (`ColumnMap`): the user's names, else the first common name present. A column the user
named that a file lacks, or a required one nobody can find, is an error before any work starts, listing the
columns found. Values reach the caller raw (any type): judging them is `rows.py`'s job, so a bad value never
stops a run.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workvec.errors import InputError

__all__ = ["SUFFIXES", "ColumnMap", "Record", "count_rows", "find_inputs", "iter_records", "resolve_columns"]

SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".json.gz", ".csv", ".csv.gz", ".tsv", ".tsv.gz",
            ".parquet")
BATCH_ROWS = 1024
# Tried in order when the user names no column. Only text and title are required.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "id": ("id", "ad_id", "job_id", "posting_id", "uid"),
    "title": ("title", "job_title", "position", "jobtitle"),
    "text": ("text", "description", "job_description", "body", "content"),
    "date": ("date", "posted", "date_posted", "posting_date", "created", "published"),
    "region": ("region", "location", "state", "country"),
    # Who wrote the ad: the corpus boilerplate rule counts distinct employers (workvec.analyze.boilerplate).
    "employer": ("employer", "company", "company_name", "employer_name", "organization", "organisation",
                 "agency", "department", "advertiser"),
}
REQUIRED = ("title", "text")


@dataclass(frozen=True)
class ColumnMap:
    """Which input column feeds each role (None: the inputs have none); `groups` are extra columns kept as is."""

    id: str | None
    title: str
    text: str
    date: str | None
    region: str | None
    groups: tuple[str, ...] = ()
    employer: str | None = None

    def columns(self) -> list[str]:
        """The input columns read, without repeats."""
        names = [self.id, self.title, self.text, self.date, self.region, self.employer, *self.groups]
        return list(dict.fromkeys(n for n in names if n))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"id": self.id, "title": self.title, "text": self.text, "date": self.date, "region": self.region,
                "employer": self.employer, "groups": list(self.groups)}


@dataclass(frozen=True)
class Record:
    """One input row: where it came from and the raw values of the mapped columns (absent key: no value)."""

    source: str
    line: int  # 1-based row number within its file
    values: dict[str, Any]


def find_inputs(paths: Sequence[str | Path]) -> list[Path]:
    """Input files, folders expanded (sorted, recursively) to the files with a known suffix."""
    if not paths:
        raise InputError("no INPUT given: pass one or more CSV, JSONL(.gz) or Parquet files or folders")
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inner = sorted(p for p in path.rglob("*") if p.is_file() and _kind(p))
            if not inner:
                raise InputError(f"folder {path} holds no input files (looked for {', '.join(SUFFIXES)})")
            found.extend(inner)
        elif path.is_file():
            if not _kind(path):
                raise InputError(f"{path}: unknown input format; use one of {', '.join(SUFFIXES)}")
            found.append(path)
        else:
            raise InputError(f"input {path} does not exist")
    return list(dict.fromkeys(p.resolve() for p in found))


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".tsv", ".tsv.gz")):
        return "tsv"
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".json.gz")):
        return "jsonl"
    return None


def _open_binary(path: Path):
    """The file's bytes (gunzipped by suffix); the caller closes it."""
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def _open_text(path: Path) -> io.TextIOBase:
    """The file as UTF-8 text (gunzipped by suffix); the caller closes it."""
    return io.TextIOWrapper(_open_binary(path), encoding="utf-8", errors="replace", newline="")


def file_columns(path: Path) -> list[str]:
    """The column names of one input file (JSONL: the keys of its first object)."""
    kind = _kind(path)
    if kind == "parquet":
        import pyarrow.parquet as pq

        return list(pq.ParquetFile(path).schema_arrow.names)
    with _open_text(path) as fh:
        if kind in ("csv", "tsv"):
            return next(csv.reader(fh, delimiter="\t" if kind == "tsv" else ","), [])
        for line in fh:
            if line.strip():
                try:
                    first = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}: first line is not JSON ({exc.msg}); is this JSON Lines?") from exc
                if not isinstance(first, dict):
                    raise InputError(f"{path}: rows must be JSON objects, the first is a {type(first).__name__}")
                return list(first)
    return []


def resolve_columns(files: Sequence[Path], *, id: str | None = None, title: str | None = None,
                    text: str | None = None, date: str | None = None, region: str | None = None,
                    employer: str | None = None, groups: Sequence[str] = ()) -> ColumnMap:
    """Map roles to columns present in every file; a named or required column that is missing is an error."""
    given = {"id": id, "title": title, "text": text, "date": date, "region": region, "employer": employer}
    per_file = {path: file_columns(path) for path in files}
    chosen: dict[str, str | None] = {}
    for role, name in given.items():
        if name is not None:
            _require(per_file, name, f"--{role}-col {name}")
            chosen[role] = name
            continue
        common = set.intersection(*(set(cols) for cols in per_file.values()))
        chosen[role] = next((c for c in CANDIDATES[role] if c in common), None)
        if chosen[role] is None and role in REQUIRED:
            path, cols = next(iter(per_file.items()))
            raise InputError(f"no {role} column: looked for {', '.join(CANDIDATES[role])}; {path.name} has columns"
                             f" {_show(cols)}; name it with --{role}-col COLUMN")
    for name in groups:
        _require(per_file, name, f"--group-col {name}")
    return ColumnMap(groups=tuple(dict.fromkeys(groups)), **chosen)


def _require(per_file: dict[Path, list[str]], name: str, flag: str) -> None:
    for path, cols in per_file.items():
        if name not in cols:
            raise InputError(f"{flag}: {path.name} has no column {name!r}; its columns are {_show(cols)}")


def _show(cols: Sequence[str]) -> str:
    return ", ".join(repr(c) for c in cols[:40]) + (f" (+{len(cols) - 40} more)" if len(cols) > 40 else "") \
        if cols else "(none)"


def iter_records(files: Sequence[Path], columns: ColumnMap, *, batch_rows: int = BATCH_ROWS) -> Iterator[list[Record]]:
    """Batches of records from every file in order; memory stays bounded by `batch_rows`."""
    wanted = columns.columns()
    for path in files:
        reader = {"parquet": _parquet, "csv": _csv, "tsv": _csv, "jsonl": _jsonl}[_kind(path) or ""]
        yield from reader(path, wanted, batch_rows)


def _parquet(path: Path, wanted: list[str], batch_rows: int) -> Iterator[list[Record]]:
    import pyarrow.parquet as pq

    line = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=wanted):
        yield _from_columns(path.name, line, {name: batch.column(name).to_pylist() for name in wanted})
        line += batch.num_rows


def _csv(path: Path, wanted: list[str], batch_rows: int) -> Iterator[list[Record]]:
    """CSV/TSV with every column read as text; a row with the wrong number of fields becomes a bad row."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    header = file_columns(path)
    delimiter = "\t" if _kind(path) == "tsv" else ","
    malformed: list[Record] = []
    count = [0]

    def keep_as_bad_row(row) -> str:
        count[0] += 1  # pyarrow gives no line number with newlines_in_values; the text identifies the row
        malformed.append(Record(f"{path.name}#malformed", count[0], {"__error__": (
            f"{row.actual_columns} fields where the header has {row.expected_columns}: {row.text[:60]!r}")}))
        return "skip"

    reader = pcsv.open_csv(
        path,
        read_options=pcsv.ReadOptions(block_size=1 << 22),
        parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                        invalid_row_handler=keep_as_bad_row),
        convert_options=pcsv.ConvertOptions(include_columns=wanted, column_types={c: pa.string() for c in header},
                                            strings_can_be_null=True, quoted_strings_can_be_null=False),
    )
    line = 0
    for batch in reader:
        if malformed:
            yield malformed[:]
            malformed.clear()
        for lo in range(0, batch.num_rows, batch_rows):
            part = batch.slice(lo, batch_rows)
            yield _from_columns(path.name, line, {name: part.column(name).to_pylist() for name in wanted})
            line += part.num_rows
    if malformed:
        yield malformed[:]


def _from_columns(source: str, start: int, data: dict[str, list]) -> list[Record]:
    names = list(data)
    count = len(data[names[0]]) if names else 0
    return [Record(source, start + i + 1, {n: data[n][i] for n in names}) for i in range(count)]


def _jsonl(path: Path, wanted: list[str], batch_rows: int) -> Iterator[list[Record]]:
    """JSON Lines parsed per line, so one malformed line becomes one bad row, not a failed run; bytes that are
    not UTF-8 are replaced (U+FFFD) and the row says so."""
    batch: list[Record] = []
    with _open_binary(path) as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                line, encoding = raw.decode("utf-8"), None
            except UnicodeDecodeError as exc:
                line = raw.decode("utf-8", errors="replace")
                encoding = f"line {number} is not UTF-8 (byte {exc.start}); undecodable bytes became U+FFFD"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                obj = {"__error__": f"line {number} is not JSON ({exc.msg})"}
            if not isinstance(obj, dict):
                obj = {"__error__": f"line {number} is a JSON {type(obj).__name__}, not an object"}
            values = {n: obj[n] for n in wanted if n in obj}
            for key, value in (("__error__", obj.get("__error__")), ("__encoding__", encoding)):
                if value is not None and key not in wanted:
                    values[key] = value
            batch.append(Record(path.name, number, values))
            if len(batch) >= batch_rows:
                yield batch
                batch = []
    if batch:
        yield batch


def count_rows(files: Sequence[Path]) -> int:
    """Rows in the inputs (for the progress bar's ETA): Parquet metadata, non-blank JSONL lines, CSV records."""
    import pyarrow.parquet as pq

    total = 0
    for path in files:
        kind = _kind(path)
        if kind == "parquet":
            total += pq.ParquetFile(path).metadata.num_rows
        elif kind == "jsonl":
            with _open_binary(path) as fh:  # lines as _jsonl splits them
                total += sum(1 for line in fh if line.strip())
        else:
            cols = file_columns(path)
            total += sum(len(b) for b in _csv(path, cols[:1], 1 << 16)) if cols else 0
    return total
