"""The bundle shipped inside the package (workvec/models/): what `pip install workvec` runs with no export step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_taxonomy

from workvec.defaults import SHIPPED_BUNDLE, ensure_default_bundle, shipped_bundle
from workvec.runtime.cpu import int8_weight_problem
from workvec.runtime.encoder import Encoder
from workvec.runtime.requirement import find_filter
from workvec.runtime.skills import SkillExtractor
from workvec.runtime.title_answer import no_match_floor
from workvec.runtime.titles import TitleNormalizer

MAX_BYTES = 30 * 1024 * 1024
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder.open(SHIPPED_BUNDLE, providers="cpu", threads=1)


def test_the_package_ships_one_small_int8_bundle_for_both_tasks(encoder: Encoder) -> None:
    files = [p for p in SHIPPED_BUNDLE.iterdir() if p.is_file() and p.suffix != ".py"]
    assert sum(p.stat().st_size for p in files) <= MAX_BYTES, "the shipped model must stay within ~30 MB"
    assert encoder.info.precision == "int8" and set(encoder.manifest.tasks) == {"title", "skill"}
    assert "model.onnx" not in encoder.manifest.files and encoder.manifest.model_sha256
    parity = encoder.manifest.parity
    assert parity.get("passed", True)
    assert parity["int8"]["batch_invariance"]["min_cosine"] >= 0.99999
    assert (SHIPPED_BUNDLE / "README.md").is_file(), "the shipped model needs its model card"


def test_the_shipped_int8_is_right_on_every_cpu(encoder: Encoder) -> None:
    """No fp32 model ships to fall back to, so its int8 weights must not need VNNI (scripts/training/ship.py)."""
    for flags in ({"avx2", "fma"}, {"avx2", "avx512f", "avx512bw"}, {"avx2", "avx512_vnni"}):
        assert int8_weight_problem(encoder.manifest.quantization, flags=flags, machine="x86_64") is None


def test_default_bundles_are_the_shipped_one_unless_overridden(monkeypatch, tiny_title_bundle: Path) -> None:
    for kind in ("title", "skill"):
        monkeypatch.delenv(f"WORKVEC_{kind.upper()}_BUNDLE", raising=False)
    assert shipped_bundle() == SHIPPED_BUNDLE
    assert ensure_default_bundle("title") == ensure_default_bundle("skill") == SHIPPED_BUNDLE
    monkeypatch.setenv("WORKVEC_TITLE_BUNDLE", str(tiny_title_bundle))
    assert ensure_default_bundle("title") == tiny_title_bundle


def test_calibrations_exist_for_the_shipped_model(encoder: Encoder) -> None:
    assert find_filter(encoder) is not None, "the shipped model needs its requirement filter"
    assert no_match_floor(encoder, "esco-occupations") is not None, "the shipped model needs its no-match floor"


def test_the_shipped_model_normalizes_and_extracts(tmp_path: Path) -> None:
    tax = write_taxonomy(tmp_path / "tax.csv", [("dev", "software developer", ("java developer", "programmer")),
                                               ("nurse", "nurse", ("registered nurse",)),
                                               ("py", "Python (computer programming)", ("Python",)),
                                               ("cook", "cook", ("chef",))])
    titles = TitleNormalizer.open(taxonomy=tax, index_dir=tmp_path / "idx", threads=1)
    assert [m[0].id for m in titles.search(["Sr. Java Dev", "RN night shift"], k=1)] == ["dev", "nurse"]
    skills = SkillExtractor.open(taxonomy=tax, index_dir=tmp_path / "idx", threads=1, threshold=0.5)
    found = skills.extract("You write clean Python code every day.")
    assert found.skills and found.skills[0].id == "py"
    shared = SkillExtractor.open(titles.encoder, taxonomy=tax, index_dir=tmp_path / "idx", threshold=0.5)
    assert shared.encoder is titles.encoder and shared.extract("You write clean Python code every day.") == found


def test_a_qualified_title_scores_as_its_better_text(tmp_path: Path) -> None:
    tax = write_taxonomy(tmp_path / "tax.csv", [("dev", "software developer", ()), ("web", "web designer", ()),
                                               ("boot", "boot maker", ()), ("nurse", "nurse", ())])
    titles = TitleNormalizer.open(taxonomy=tax, index_dir=tmp_path / "idx", threads=1)
    unfloored = TitleNormalizer(titles.encoder, titles.labels, floor=None)
    (answer,) = unfloored.normalize(["Sr. Java Developer (Spring Boot)"], k=4)
    full, bare = titles.search(["Java Developer (Spring Boot)", "Java Developer"], k=4)
    best = {m.id: max(m.score, next(b.score for b in bare if b.id == m.id)) for m in full}
    assert answer.cleaned == "Java Developer (Spring Boot)"
    assert [(m.id, m.score) for m in answer.matches] == sorted(best.items(), key=lambda kv: -kv[1])
    assert answer.matches[0].id == "dev" and best["dev"] > next(m.score for m in full if m.id == "dev")


def _two_labels(tmp_path: Path) -> str:
    return str(write_taxonomy(tmp_path / "tax.csv", [("dev", "software developer", ()), ("py", "Python", ())]))


def test_analyze_runs_one_session_for_the_shipped_model(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    from workvec.analyze.pipeline import ModelSpec

    tax = _two_labels(tmp_path)
    titles, skills = ModelSpec(titles_taxonomy=tax, skills_taxonomy=tax, threads=1).open_models()
    assert titles.encoder is skills.encoder


def test_serve_runs_one_session_for_the_shipped_model(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from workvec.serve.engine import Engine
    from workvec.serve.settings import ServeSettings

    tax = _two_labels(tmp_path)
    engine = Engine(ServeSettings(titles_taxonomy=tax, skills_taxonomy=tax, index_dir=str(tmp_path), threads=1))
    assert engine.sides["title"].encoder is engine.sides["skill"].encoder


def test_runtime_cli_runs_the_shipped_model_without_torch(tmp_path: Path) -> None:
    """`workvec normalize` with nothing but the runtime: torch is never imported (checked in the child)."""
    tax = write_taxonomy(tmp_path / "tax.csv", [("dev", "software developer", ("java developer",)),
                                               ("nurse", "nurse", ("registered nurse",))])
    (tmp_path / "idx").mkdir()
    code = ("import sys, runpy; sys.argv = ['workvec', 'normalize', 'Sr. Java Dev', '--taxonomy', sys.argv[1], '--k', '1', '--json',"
            " '--index-dir', sys.argv[2], '--threads', '1'];\n"
            "try:\n    runpy.run_module('workvec', run_name='__main__')\n"
            "except SystemExit as e:\n    assert 'torch' not in sys.modules, 'torch was imported'; raise")
    done = subprocess.run([sys.executable, "-c", code, str(tax), str(tmp_path / "idx")], check=False, capture_output=True,
                          text=True, timeout=120, cwd=ROOT,
                          env={k: v for k, v in os.environ.items() if not k.endswith("_BUNDLE")})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[0])["matches"][0]["id"] == "dev"


def test_the_threshold_defaults_to_the_bundles_calibrated_one(tmp_path: Path, tiny_skill_bundle: Path) -> None:
    from conftest import copy_bundle

    from workvec.runtime.manifest import read_manifest
    from workvec.runtime.skills import DEFAULT_THRESHOLD, default_threshold

    tax = write_taxonomy(tmp_path / "tax.csv", [("py", "Python", ())])
    assert default_threshold(read_manifest(tiny_skill_bundle)) == DEFAULT_THRESHOLD
    bundle = copy_bundle(tiny_skill_bundle, tmp_path / "b")
    data = json.loads((bundle / "workvec.json").read_text())
    (bundle / "workvec.json").write_text(json.dumps({**data, "skill_threshold": 0.41}))
    opened = SkillExtractor.open(bundle, taxonomy=tax, index_dir=tmp_path / "idx", requirement_filter=False)
    assert opened.settings.threshold == 0.41
    assert SkillExtractor.open(bundle, taxonomy=tax, index_dir=tmp_path / "idx", requirement_filter=False,
                               threshold=0.7).settings.threshold == 0.7
