"""Per-row checks: every input row becomes an `Ad` with a status and a reason, never an exception.

Statuses, most severe first (a row has one status, its worst problem; `error` lists every problem):
bad_row (a JSONL line that is not an object, a CSV row with the wrong number of fields), missing_text,
not_string, empty_text (no skills are extracted), truncated (text over 1 MB: read up to its last full sentence
within 1 MB, the rule of every door: workvec.runtime.skill_job),
missing_title, bad_date, missing_date, missing_id, bad_encoding (non-UTF-8 bytes replaced), ok.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from workvec.analyze.inputs import ColumnMap, Record
from workvec.runtime.skill_job import MAX_TEXT_BYTES

__all__ = ["MAX_TEXT_BYTES", "STATUSES", "Ad", "prepare"]

STATUSES = ("bad_row", "missing_text", "not_string", "empty_text", "truncated", "missing_title", "bad_date",
            "missing_date", "missing_id", "bad_encoding", "ok")
ANALYSED = frozenset(STATUSES) - {"missing_text", "not_string", "empty_text", "bad_row"}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y-%m", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y")


@dataclass(frozen=True)
class Ad:
    """A checked input row: what the pipeline analyses (`text` is None when nothing can be)."""

    row: int  # 0-based position in the whole input stream
    id: str
    title: str | None
    text: str | None
    date: str | None  # YYYY-MM-DD
    month: str | None  # YYYY-MM
    region: str | None
    employer: str | None  # the employer column's value (None: no column, or no value)
    groups: dict[str, str | None]
    text_chars: int
    problems: tuple[tuple[str, str], ...] = field(default=())  # (status, reason)

    @property
    def status(self) -> str:
        """The most severe problem, or ok."""
        return min((p[0] for p in self.problems), key=STATUSES.index, default="ok")

    @property
    def error(self) -> str | None:
        """Every problem's reason, or None."""
        return "; ".join(p[1] for p in self.problems) or None


def prepare(record: Record, row: int, columns: ColumnMap) -> Ad:
    """Check one record's values and build its `Ad`."""
    values = record.values
    problems: list[tuple[str, str]] = []
    if "__error__" in values:
        problems.append(("bad_row", str(values["__error__"])))
    if "__encoding__" in values:
        problems.append(("bad_encoding", str(values["__encoding__"])))
    text = _text(values, columns.text, problems)
    title = _string(values.get(columns.title))
    if title is None or not title.strip():
        kind = "missing" if title is None else "blank"
        problems.append(("missing_title", f"title {kind} in column {columns.title!r}: no occupation"))
    ad_id = _string(values.get(columns.id)) if columns.id else None
    if not ad_id:
        ad_id = f"{record.source}:{record.line}"
        if columns.id:
            problems.append(("missing_id", f"no id in column {columns.id!r}: using {ad_id}"))
    date = _date(values, columns.date, problems) if columns.date else None
    return Ad(row=row, id=ad_id, title=title, text=text, date=date, month=date[:7] if date else None,
              region=_string(values.get(columns.region)) if columns.region else None,
              employer=_employer(values, columns.employer),
              groups={g: _string(values.get(g)) for g in columns.groups},
              text_chars=len(text) if text else 0, problems=tuple(problems))


def _text(values: dict[str, Any], column: str, problems: list[tuple[str, str]]) -> str | None:
    value = values.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        problems.append(("missing_text", f"no value in text column {column!r}"))
        return None
    if not isinstance(value, str):
        problems.append(("not_string", f"text column {column!r} holds a {type(value).__name__}, not a string"))
        return None
    if not value.strip():
        problems.append(("empty_text", f"text column {column!r} is blank"))
        return None
    size = len(value.encode("utf-8", errors="surrogatepass")) if len(value) * 4 > MAX_TEXT_BYTES else 0
    if size > MAX_TEXT_BYTES:  # kept whole: the skill job reads it up to its last full sentence within the limit
        problems.append(("truncated", (f"text is {size:,} bytes; analysed its first {MAX_TEXT_BYTES:,}, up to the"
                                       " last full sentence")))
    return value


def _employer(values: dict[str, Any], column: str | None) -> str | None:
    """The employer value, None when there is no employer column or the value is missing or blank."""
    value = _string(values.get(column)) if column else None
    return value if value and value.strip() else None


def _string(value: Any) -> str | None:
    """Scalars as strings (ids may be numbers); None, NaN and containers as None."""
    if value is None or isinstance(value, (dict, list, tuple)) or (isinstance(value, float) and math.isnan(value)):
        return None
    return value if isinstance(value, str) else str(value)


def _date(values: dict[str, Any], column: str, problems: list[tuple[str, str]]) -> str | None:
    value = values.get(column)
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.append(("missing_date", f"no date in column {column!r}"))
        return None
    parsed = parse_date(value)
    if parsed is None:
        problems.append(("bad_date", f"date {str(value)[:40]!r} in column {column!r} is not a date (use ISO 8601)"))
        return None
    return parsed.isoformat()


def parse_date(value: Any) -> dt.date | None:
    """ISO 8601 dates and datetimes (and a few unambiguous forms); day-first/month-first numbers are refused."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None
