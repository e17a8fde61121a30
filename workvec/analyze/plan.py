"""What a run is: its spec, its fingerprint (settings that change results), and its stream of shards.

The fingerprint is stored in RUN_DIR/settings.json at the first start; a later run into the same folder must
have the same one (engine, threads and --quiet may change: they do not change results), else it is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from workvec.analyze.boilerplate import BoilerplateRule
from workvec.analyze.inputs import ColumnMap, count_rows, find_inputs, iter_records, resolve_columns
from workvec.analyze.options import DEFAULT_SHARD_ROWS, ENGINES
from workvec.analyze.pipeline import ModelSpec
from workvec.analyze.rows import Ad, prepare
from workvec.analyze.shards import RESERVED, ShardStore
from workvec.errors import InputError
from workvec.runtime.atomic import atomic_write_bytes
from workvec.runtime.hashing import sha256_file
from workvec.runtime.settings import ExtractSettings

__all__ = ["AnalyzeSpec", "Plan", "make_plan"]



@dataclass(frozen=True)
class AnalyzeSpec:
    """Everything `workvec analyze` was asked to do."""

    inputs: tuple[str, ...]
    out: Path
    models: ModelSpec = field(default_factory=ModelSpec)
    id_col: str | None = None
    title_col: str | None = None
    text_col: str | None = None
    date_col: str | None = None
    region_col: str | None = None
    employer_col: str | None = None
    group_cols: tuple[str, ...] = ()
    boilerplate: BoilerplateRule = field(default_factory=BoilerplateRule)
    limit: int | None = None
    shard_rows: int = DEFAULT_SHARD_ROWS
    engine: str = "local"
    address: str | None = None
    quiet: bool = False

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit <= 0:
            raise InputError(f"--limit must be a positive number of ads (got {self.limit})")
        if self.shard_rows <= 0:
            raise InputError(f"--shard-rows must be positive (got {self.shard_rows})")
        if self.engine not in ENGINES:
            raise InputError(f"--engine must be one of {', '.join(ENGINES)} (got {self.engine!r})")
        if self.address and self.engine != "ray":
            raise InputError("--address joins a Ray cluster: add --engine ray")
        ExtractSettings(threshold=self.models.threshold)  # the message every door gives for a bad threshold
        clash = sorted(set(self.group_cols) & RESERVED)
        if clash:
            raise InputError(f"--group-col {clash[0]!r} clashes with an output column of ads.parquet; rename it")


@dataclass(frozen=True)
class Plan:
    """A checked spec: input files, column mapping, fingerprint and the run directory's parts."""

    spec: AnalyzeSpec
    files: tuple[Path, ...]
    columns: ColumnMap
    fingerprint: dict

    @property
    def store(self) -> ShardStore:
        return ShardStore(self.spec.out / "shards")

    def total_rows(self) -> int:
        """Rows the run covers (for progress and ETA)."""
        total = count_rows(self.files)
        return min(total, self.spec.limit) if self.spec.limit else total

    def shards(self) -> Iterator[tuple[int, list[Ad]]]:
        """(shard index, its checked ads) over the inputs in order, up to --limit rows."""
        size, limit = self.spec.shard_rows, self.spec.limit
        row, current = 0, []
        for batch in iter_records(self.files, self.columns):
            for record in batch:
                if limit is not None and row >= limit:
                    break
                current.append(prepare(record, row, self.columns))
                row += 1
                if len(current) == size:
                    yield (row - 1) // size, current
                    current = []
        if current:
            yield (row - 1) // size, current


def _bundle_identity(bundle: str | None, kind: str) -> dict:
    from workvec.runtime.paths import default_bundle

    path = Path(bundle) if bundle else default_bundle(kind)
    manifest = path / "workvec.json"
    if not manifest.is_file():
        flag = f"--{kind}-bundle"
        raise InputError(f"{flag}: {path} is not a workvec bundle (no workvec.json); pass {flag} DIR with a folder"
                         f" that `workvec export` wrote, or leave it out for the model shipped in the package")
    return {"path": str(path.resolve()), "manifest_sha256": sha256_file(manifest)}


def _taxonomy_identity(source: str) -> dict:
    from workvec.runtime.taxonomy import load_taxonomy

    taxonomy = load_taxonomy(source)
    return {"source": source, "name": taxonomy.name, "sha256": taxonomy.sha256, "concepts": len(taxonomy.concepts)}


def _rules_identity() -> dict:
    """Digests of the rules that shape results without a model (title cleaning and queries, sentence splitting
    and the text limit, the language guard and its models' version) and the encoder's batching rule: a run
    resumed after an upgrade that changed them is refused instead of mixing old and new answers."""
    from workvec.runtime import encoder, language, sentences, skill_job, title_clean, title_job

    rules = {m.__name__.rsplit(".", 1)[-1]: sha256_file(m.__file__)[:16]
             for m in (title_clean, title_job, sentences, skill_job, language)}
    return {**rules, "batching": encoder.BATCHING, "language_models": language.models_version()}


def make_plan(spec: AnalyzeSpec) -> Plan:
    """Check inputs, columns, models and the run directory before any work; refuse changed settings."""
    files = tuple(find_inputs(spec.inputs))
    columns = resolve_columns(files, id=spec.id_col, title=spec.title_col, text=spec.text_col, date=spec.date_col,
                              region=spec.region_col, employer=spec.employer_col, groups=spec.group_cols)
    models = spec.models
    fingerprint = {
        "inputs": [{"path": str(p), "bytes": p.stat().st_size, "sha256": sha256_file(p)} for p in files],
        "columns": columns.to_json(),
        "bundles": {"title": _bundle_identity(models.title_bundle, "title"),
                    "skill": _bundle_identity(models.skill_bundle, "skill")},
        "taxonomies": {"titles": _taxonomy_identity(models.titles_taxonomy),
                       "skills": _taxonomy_identity(models.skills_taxonomy)},
        "settings": {"threshold": models.threshold, "precision": models.precision, "limit": spec.limit,
                     "shard_rows": spec.shard_rows, "clean_titles": models.clean_titles,
                     "boilerplate": asdict(spec.boilerplate)},
        "rules": _rules_identity(),
    }
    _claim(spec.out, fingerprint)
    return Plan(spec, files, columns, fingerprint)


def _claim(out: Path, fingerprint: dict) -> None:
    """Create RUN_DIR with settings.json, or check that the existing one has the same settings."""
    settings = out / "settings.json"
    if settings.is_file():
        old = json.loads(settings.read_text(encoding="utf-8"))
        changed = [key for key in fingerprint if old.get(key) != fingerprint[key]]
        if changed:
            detail = "; ".join(_diff(key, old.get(key), fingerprint[key]) for key in changed)
            raise InputError(f"{out} holds a run with other settings ({detail}); rerun with the same settings to"
                             f" resume it, or pass another --out")
        return
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"--out {out} exists and is not a workvec analyze run directory; pass a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(settings, json.dumps(fingerprint, indent=2, sort_keys=True).encode("utf-8"))


def _diff(key: str, old, new) -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        return ", ".join(f"{key}.{k}: {_short(old.get(k))} -> {_short(new.get(k))}" for k in keys)
    return f"{key} changed"


def _short(value) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def spec_json(spec: AnalyzeSpec) -> dict:
    """The spec as JSON-ready dict (for run.json)."""
    data = asdict(spec)
    data["out"] = str(spec.out)
    return data
