"""`workvec analyze` end to end with real bundles: outputs, equality with the library, bad rows, refusal of
changed settings, kill-and-resume of a real subprocess, and the Ray engine's rows equal to the local ones."""

from __future__ import annotations

import pytest

pytest.importorskip("pandas", reason="the analyze extra is not installed (pip install 'workvec[analyze]')")
pytest.importorskip("pyarrow", reason="the analyze extra is not installed (pip install 'workvec[analyze]')")

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from analyze_support import (
    BAD_LINES,
    SAMPLE,
    analyze_bundles,
    base_args,
    rows,
    taxonomies,
    varied_corpus,
    write_bad_corpus,
)

from workvec.cli import main

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = ("ads.parquet", "ad_skills.parquet", "report.md", "run.json", "top_skills.png", "occupation_mix.png",
           "aggregates/skill_demand.parquet", "aggregates/top_skills.parquet", "aggregates/skill_trends.parquet",
           "aggregates/skill_movers.parquet", "aggregates/occupation_mix.parquet")
# Rows equal across runs whose batches differ (a cache warmed before a kill, one cache per Ray actor, one ad
# alone) hold at the default precision because the bundles' int8 is per-row (batch-invariant, issue 9).


@pytest.fixture(scope="module")
def models(request):
    return analyze_bundles(request), taxonomies()


def analyze(models, inputs, out, *extra) -> int:
    return main(["analyze", *map(str, inputs), "--out", str(out), *base_args(*models, *extra)])


def test_sample_run_equals_the_library_ad_by_ad(models, tmp_path, capsys):
    """Each ad's skills and occupation are what SkillExtractor.extract / TitleNormalizer.normalize give for it
    alone (the default precision: the fixture bundles' per-row int8 is batch-invariant, issue 9)."""
    import workvec

    out = tmp_path / "run"
    assert analyze(models, [SAMPLE], out, "--shard-rows", "8", "--group-col", "company") == 0
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    ads, skills = rows(out)
    sample = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    assert [a["id"] for a in ads] == [s["id"] for s in sample] and [a["row"] for a in ads] == list(range(len(ads)))
    assert {a["company"] for a in ads} == {s["company"] for s in sample}
    (title_bundle, skill_bundle), (title_tax, skill_tax) = models
    normalizer = workvec.TitleNormalizer.open(title_bundle, taxonomy=title_tax, threads=1)
    extractor = workvec.SkillExtractor.open(skill_bundle, taxonomy=skill_tax, threads=1)
    by_ad: dict[str, list[dict]] = {}
    for row in skills:
        by_ad.setdefault(row["id"], []).append(row)
    for ad, raw in zip(ads, sample):
        alone = extractor.extract(raw["text"]).skills
        got = [(r["skill_id"], r["score"], r["sentence_start"], r["sentence_end"],
                [(e["text"], e["start"], e["end"], e["weight"]) for e in r["evidence"]]) for r in by_ad.get(ad["id"], [])]
        assert got == [(m.id, m.score, m.sentence_start, m.sentence_end,
                        [(e.text, e.start, e.end, e.weight) for e in m.evidence]) for m in alone], ad["id"]
        answer = normalizer.normalize([raw["title"]], k=2)[0]  # what `workvec normalize` answers: cleaned title
        top = answer.matches
        assert (ad["occupation_id"], ad["occupation_score"], ad["runner_up_id"], ad["runner_up_score"]) == \
            (top[0].id, top[0].score, top[1].id, top[1].score), ad["id"]
        assert ad["occupation_no_match"] == answer.no_match
        assert ad["skills"] == len(alone) and ad["status"] == "ok" and ad["month"] == raw["date"][:7]
    assert skills, "the sample should yield some skills"
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert info["complete"] and info["counts"]["statuses"] == {"ok": len(sample)}
    assert info["counts"]["duplicate_rate"] > 0.3  # the sample repeats its boilerplate
    assert info["settings"]["precision"] == "auto" and info["taxonomies"]["skills"]["concepts"] == 16

    capsys.readouterr()
    assert analyze(models, [SAMPLE], out, "--shard-rows", "8", "--group-col", "company") == 0
    assert rows(out) == (ads, skills)  # same settings: resumes (nothing left) and rewrites the same outputs
    assert analyze(models, [SAMPLE], out, "--shard-rows", "8", "--group-col", "company",
                   "--threshold", "0.5") == 2
    err = capsys.readouterr().err
    assert "holds a run with other settings (settings.threshold: null -> 0.5)" in err and "another --out" in err

    settings = json.loads((out / "settings.json").read_text(encoding="utf-8"))  # as left by an older workvec
    settings["rules"]["title_clean"] = "0" * 16
    (out / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    assert analyze(models, [SAMPLE], out, "--shard-rows", "8", "--group-col", "company") == 2
    assert "rules.title_clean: 0000000000000000 -> " in capsys.readouterr().err


def test_bad_rows_never_stop_a_run(models, tmp_path):
    out = tmp_path / "run"
    assert analyze(models, [write_bad_corpus(tmp_path / "bad.jsonl")], out) == 0
    ads, skills = rows(out)
    assert len(ads) == len(BAD_LINES) + 2
    status = {a["id"]: a["status"] for a in ads}
    assert status["ok"] == "ok" and status["empty"] == "empty_text" and status["number"] == "not_string"
    assert status["huge"] == "truncated" and status["baddate"] == "bad_date" and status["bad.jsonl:4"] == "bad_row"
    assert all(a["error"] for a in ads if a["status"] != "ok")
    assert {s["id"] for s in skills} <= {"ok", "huge", "baddate", "notitle", "bad.jsonl:11"}
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert sum(info["counts"]["statuses"].values()) == len(ads)
    assert info["counts"]["statuses"]["missing_text"] == 2 and info["counts"]["problems"]["bad_row"] == 2


def _manifest_lines(run_dir: Path) -> list[str]:
    path = run_dir / "shards" / "manifest.jsonl"
    return path.read_text(encoding="utf-8").splitlines() if path.is_file() else []


@pytest.mark.integration  # ~30 s: real subprocesses killed and rerun; .ci/run runs it
def test_sigkill_and_resume_gives_exactly_the_uninterrupted_rows(models, tmp_path):
    corpus = varied_corpus(tmp_path / "varied.jsonl", 96)
    reference = tmp_path / "reference"
    assert analyze(models, [corpus], reference, "--shard-rows", "4") == 0
    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "workvec", "analyze", str(corpus), "--out", str(killed),
               *base_args(*models, "--shard-rows", "4")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    for more in (1, 3):  # kill right after the first shard lands, then again a few shards into the resumed run
        before = len(_manifest_lines(killed))
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while len(_manifest_lines(killed)) < before + more and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
        assert not (killed / "run.json").exists() and len(_manifest_lines(killed)) < 24
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    shards = [json.loads(line)["shard"] for line in _manifest_lines(killed)]
    assert sorted(shards) == list(range(24))  # every shard once: none redone after it was listed
    assert rows(killed) == rows(reference)


@pytest.mark.integration
def test_ray_engine_rows_equal_the_local_engine(models, tmp_path):
    ray = pytest.importorskip("ray")
    from workvec.analyze import ModelSpec, run_analyze
    from workvec.analyze.plan import AnalyzeSpec

    corpus = varied_corpus(tmp_path / "varied.jsonl", 24)
    local = tmp_path / "local"
    assert analyze(models, [corpus], local, "--shard-rows", "5") == 0
    (title_bundle, skill_bundle), (title_tax, skill_tax) = models
    spec = AnalyzeSpec(inputs=(str(corpus),), out=tmp_path / "ray", shard_rows=5, engine="ray", quiet=True,
                       models=ModelSpec(str(title_bundle), str(skill_bundle), str(title_tax), str(skill_tax),
                                        threads=1))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        info = run_analyze(spec)
    finally:
        ray.shutdown()
    assert info["counts"]["ads"] == 24 and not (tmp_path / "ray" / "ray-input").exists()
    assert rows(tmp_path / "ray") == rows(local)
