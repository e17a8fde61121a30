"""After the last shard: ads.parquet, ad_skills.parquet (with the corpus boilerplate verdict), aggregates/,
report.md and run.json (each atomic)."""

from __future__ import annotations

import json
import platform
import sys
import time
from collections import Counter
from importlib import metadata

import pyarrow.parquet as pq

from workvec.analyze.aggregate import aggregate, write_aggregates
from workvec.analyze.boilerplate import find_boilerplate
from workvec.analyze.plan import Plan, spec_json
from workvec.analyze.report import write_report
from workvec.analyze.rows import ANALYSED, STATUSES
from workvec.analyze.shards import SKILLS_SCHEMA, ads_schema
from workvec.runtime.atomic import atomic_write_bytes

__all__ = ["finalize"]

VERSIONED = ("workvec", "onnxruntime", "tokenizers", "numpy", "pyarrow", "pandas", "matplotlib", "ray")


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = sys.modules["workvec"].__version__ if name == "workvec" else None
    return out


def finalize(plan: Plan, *, session_seconds: float) -> dict:
    """Combine the shards, aggregate, report, and write run.json (last, so it marks a complete run)."""
    start = time.perf_counter()
    out, store = plan.spec.out, plan.store
    done = store.finished()
    expected = -(-plan.total_rows() // plan.spec.shard_rows)
    missing = sorted(set(range(expected)) - set(done))
    if missing:
        raise RuntimeError(f"shards {missing[:5]} are not finished; rerun the same command to complete them")
    groups = plan.columns.groups
    ads_rows = store.combine(done, out / "ads.parquet", 0, ads_schema(groups))
    rule = plan.spec.boilerplate
    occupations = pq.read_table(out / "ads.parquet", columns=["row", "occupation_id"])
    skill_columns = ["row", "skill_label", "sentence_start", "sentence_end", "mentions"]
    verdict = find_boilerplate(plan.shards, lambda shard: store.read(shard, 1, skill_columns),
                               dict(zip(*(occupations.column(c).to_pylist() for c in ("row", "occupation_id")))), rule)
    skill_rows = store.combine(done, out / "ad_skills.parquet", 1, SKILLS_SCHEMA, transform=verdict.marker())
    ads = pq.read_table(out / "ads.parquet", columns=["row", "occupation_id", "occupation_label", "month", "region",
                                                    "employer", *groups, "status"]).to_pandas()
    skills = pq.read_table(out / "ad_skills.parquet",
                           columns=["row", "skill_id", "skill_label", "score", "boilerplate"]).to_pandas()
    aggs = aggregate(ads, skills, groups, include_boilerplate=rule.include)
    origins = verdict.sentences.to_pandas()
    write_aggregates(aggs, out / "aggregates", {"boilerplate_sentences": origins})
    entries = list(done.values())
    sentences = sum(e["sentences"] for e in entries)
    matched = sum(e["matched"] for e in entries)
    statuses = Counter(ads["status"])
    problems: Counter[str] = Counter()
    for entry in entries:
        problems.update(entry.get("problems", {}))
    summary = {
        "ads": ads_rows, "analysed": int(ads["status"].isin(ANALYSED).sum()), "skills": skill_rows,
        "statuses": {s: statuses[s] for s in STATUSES if statuses[s]}, "problems": dict(sorted(problems.items())),
        "sentences": sentences, "sentences_matched": matched,
        "duplicate_rate": round(1 - matched / sentences, 4) if sentences else 0.0,
        "boilerplate": {**verdict.summary(), "employer_col": plan.columns.employer,
                        "employers": int(ads["employer"].nunique()),
                        "ads_without_employer": int(ads["employer"].isna().sum())},
    }
    write_report(aggs, out, summary, origins)
    shard_seconds = sum(e.get("seconds", 0.0) for e in entries)
    info = {
        "complete": True,
        **plan.fingerprint,
        "spec": spec_json(plan.spec),
        "counts": summary,
        "timings": {"shard_seconds": round(shard_seconds, 3),
                    "ads_per_shard_second": round(ads_rows / shard_seconds, 2) if shard_seconds else None,
                    "last_session_seconds": round(session_seconds, 3),
                    "finalize_seconds": round(time.perf_counter() - start, 3)},
        "versions": _versions(),
    }
    atomic_write_bytes(out / "run.json", json.dumps(info, indent=2, sort_keys=True, default=str).encode("utf-8"))
    return info
