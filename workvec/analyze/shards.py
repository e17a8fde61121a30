"""Shards of results on disk: atomic writes, a manifest of finished shards, and the final combined tables.

Shard k holds the results of input rows [k * shard_rows, (k + 1) * shard_rows). Its two Parquet files are each
written atomically (`workvec.runtime.atomic`: a temporary name, fsynced, renamed into place); only then is one JSON
line appended to the manifest. A kill at any moment leaves either a listed shard with both files complete, or an
unlisted shard that a rerun computes again (at worst beside a hidden temporary file): 0 rows lost, 0 duplicated.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from workvec.runtime.atomic import atomic_path, atomic_write_bytes

__all__ = ["SKILLS_SCHEMA", "ShardStore", "ads_schema", "atomic_write_bytes"]  # the last re-exported for ray_engine

EVIDENCE = pa.list_(pa.struct([("text", pa.string()), ("start", pa.int64()), ("end", pa.int64()),
                               ("weight", pa.float64())]))
# mentions: every sentence of the ad the skill was found in, with its evidence (offsets into the ad text; the
# row's own sentence and evidence are the best of them): what the corpus boilerplate rule reads. The final
# ad_skills.parquet adds the rule's verdict, `boilerplate`.
MENTIONS = pa.list_(pa.struct([("sentence_start", pa.int64()), ("sentence_end", pa.int64()),
                               ("evidence", pa.list_(pa.struct([("start", pa.int64()), ("end", pa.int64())])))]))
SKILLS_SCHEMA = pa.schema([
    ("row", pa.int64()), ("id", pa.string()), ("skill_id", pa.string()), ("skill_label", pa.string()),
    ("score", pa.float64()), ("sentence_start", pa.int64()), ("sentence_end", pa.int64()), ("evidence", EVIDENCE),
    ("mentions", MENTIONS),
])
_ADS_FIELDS = [
    ("row", pa.int64()), ("id", pa.string()), ("title", pa.string()),
    ("occupation_id", pa.string()), ("occupation_label", pa.string()), ("occupation_score", pa.float64()),
    ("occupation_no_match", pa.bool_()),
    ("runner_up_id", pa.string()), ("runner_up_label", pa.string()), ("runner_up_score", pa.float64()),
    ("date", pa.string()), ("month", pa.string()), ("region", pa.string()), ("employer", pa.string()),
]
_ADS_TAIL = [("text_chars", pa.int64()), ("sentences", pa.int64()), ("skills", pa.int64()),
             ("status", pa.string()), ("error", pa.string())]
RESERVED = frozenset(name for name, _ in _ADS_FIELDS + _ADS_TAIL)


def ads_schema(groups: Sequence[str]) -> pa.Schema:
    """ads.parquet's schema: fixed columns, then the group columns (strings), then counts and status."""
    return pa.schema(_ADS_FIELDS + [(g, pa.string()) for g in groups] + _ADS_TAIL)


def _atomic_parquet(table: pa.Table, path: Path) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


@dataclass(frozen=True)
class ShardStore:
    """The `shards/` folder of a run directory."""

    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.jsonl"

    def paths(self, shard: int) -> tuple[Path, Path]:
        """The ads and skills files of one shard."""
        return self.root / f"ads-{shard:06d}.parquet", self.root / f"skills-{shard:06d}.parquet"

    def write(self, shard: int, ads: pa.Table, skills: pa.Table, stats: dict) -> dict:
        """Write one shard's two files atomically (as `write_files`) and list it in the manifest."""
        entry = self.write_files(shard, ads, skills, stats)
        self.record(entry)
        return entry

    def write_files(self, shard: int, ads: pa.Table, skills: pa.Table, stats: dict) -> dict:
        """Write one shard's two files atomically; returns its manifest entry (not yet recorded)."""
        self.root.mkdir(parents=True, exist_ok=True)
        ads_path, skills_path = self.paths(shard)
        _atomic_parquet(skills, skills_path)
        _atomic_parquet(ads, ads_path)
        return {"shard": shard, "ads": ads.num_rows, "skills": skills.num_rows, **stats}

    def record(self, entry: dict) -> None:
        """Append one finished shard to the manifest (one fsynced line)."""
        with open(self.manifest, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def finished(self) -> dict[int, dict]:
        """Manifest entries of shards whose files exist with the listed row counts (a torn last line is ignored)."""
        done: dict[int, dict] = {}
        if not self.manifest.is_file():
            return done
        for line in self.manifest.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            ads_path, skills_path = self.paths(entry["shard"])
            if ads_path.is_file() and skills_path.is_file() \
                    and pq.ParquetFile(ads_path).metadata.num_rows == entry["ads"]:
                done[entry["shard"]] = entry
        return done

    def combine(self, shards: Iterable[int], out: Path, which: int, schema: pa.Schema,
                transform: Callable[[pa.Table], pa.Table] | None = None) -> int:
        """Concatenate the listed shards' files (0: ads, 1: skills), read with `schema` and each passed through
        `transform` when given, into `out` atomically, streaming."""
        written = transform(schema.empty_table()).schema if transform else schema
        rows = 0
        with atomic_path(out) as tmp, pq.ParquetWriter(tmp, written, compression="zstd") as writer:
            for shard in sorted(shards):
                table = pq.read_table(self.paths(shard)[which], schema=schema)
                writer.write_table(transform(table) if transform else table)
                rows += table.num_rows
        return rows

    def read(self, shard: int, which: int, columns: Sequence[str]) -> pa.Table:
        """Some columns of one shard's file (0: ads, 1: skills)."""
        return pq.read_table(self.paths(shard)[which], columns=list(columns))
