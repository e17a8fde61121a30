"""`workvec normalize`, label-index behaviour through the CLI, and the installed entry point.

In-process through `workvec.cli.main` (plus one real subprocess of the installed entry point), with the committed
tiny bundles (fast tier; contracts, not semantics) and MiniLM (integration: real matches), label indexes in
temporary directories (never ~/.cache). test_cli_extract.py covers `workvec extract`; tests/test_cli_unix.py the
Unix-tool behaviour in subprocesses.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import error_line, extract, normalize
from conftest import other_bundle, shared_path


# ------------------------------------------------------------------------------------------------ normalize
def test_normalize_json_lines(capsys, title_bundle, jobs_csv, jobs_index) -> None:
    titles = ["Software Engineer", "head cook", "HGV driver"]  # alternative labels: exact matches
    code, out, err = normalize(capsys, title_bundle, jobs_index, *titles, "--taxonomy", jobs_csv, "--k", 3, "--json")
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["query"] for r in records] == titles
    for record in records:
        assert set(record) == {"query", "cleaned", "no_match", "matches", "tied_with", "language"}
        assert len(record["matches"]) == 3
        for m in record["matches"]:
            assert set(m) == {"id", "label", "score", "matched_label"}
            assert isinstance(m["score"], float)
        assert [m["score"] for m in record["matches"]] == sorted((m["score"] for m in record["matches"]),
                                                                 reverse=True)
    assert [r["matches"][0]["id"] for r in records] == ["dev", "chef", "driver"]
    assert records[1]["matches"][0]["label"] == "chef"


def test_normalize_text_output(capsys, title_bundle, jobs_csv, jobs_index) -> None:
    code, out, err = normalize(capsys, title_bundle, jobs_index, "staff nurse", "--taxonomy", jobs_csv, "--k", 2)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "staff nurse" and len(lines) == 3
    assert "nurse" in lines[1] and "registered nurse" in lines[1] and "via 'staff nurse'" in lines[1], lines


@pytest.mark.integration
def test_normalize_esco_occupations_file(capsys, minilm_title, tmp_path) -> None:
    """An ESCO CSV export given as a file: the real file's rows (the drivers and the first 300; the whole
    embedded taxonomy is tested below), written back with its header and quoting."""
    with open(shared_path("esco", "occupations_en.csv"), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    occupations = tmp_path / "occupations_en.csv"
    with open(occupations, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([rows[0], *(r for i, r in enumerate(rows[1:]) if i < 300 or "driver" in r[4])])
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    code, out, err = normalize(capsys, minilm_title, index_dir, "truck driver", "",
                               "--taxonomy", occupations, "--json")
    assert code == 0, err
    truck, blank = (json.loads(line) for line in out.splitlines())
    assert len(truck["matches"]) == 5
    assert truck["matches"][0]["id"].startswith("http://data.europa.eu/esco/occupation/")
    assert (truck["matches"][0]["label"], truck["matches"][0]["matched_label"]) == ("cargo vehicle driver",
                                                                                  "truck driver")
    assert blank == {"query": "", "cleaned": "", "no_match": True, "matches": [], "tied_with": [], "language": None}


@pytest.mark.integration
def test_normalize_embedded_esco_occupations(capsys, minilm_title, jobs_index) -> None:
    code, out, err = normalize(capsys, minilm_title, jobs_index, "warehouse worker", "--taxonomy", "esco-occupations",
                               "--json")
    assert code == 0, err
    best = json.loads(out.splitlines()[0])["matches"][0]
    assert best["id"].startswith("http://data.europa.eu/esco/occupation/")


@pytest.mark.integration
def test_normalize_default_esco_occupations_and_onet(capsys, minilm_title, jobs_index) -> None:
    code, out, err = normalize(capsys, minilm_title, jobs_index, "Registered Nurse (m/w/d) - night shift", "--k", 1,
                               "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["cleaned"] == "Registered Nurse" and answer["no_match"] is False
    assert answer["matches"][0]["id"].startswith("http://data.europa.eu/esco/occupation/")
    code, out, err = normalize(capsys, minilm_title, jobs_index, "registered nurse", "--k", 1, "--json", "--taxonomy", "onet")
    assert code == 0, err
    (match,) = json.loads(out)["matches"]
    assert (match["id"], match["label"]) == ("29-1141.00", "Registered Nurses")


@pytest.mark.integration
def test_normalize_says_no_match_below_the_floor(capsys, minilm_title, jobs_index) -> None:
    code, out, err = normalize(capsys, minilm_title, jobs_index, "Pflegefachkraft", "warehouse worker", "--json",
                               "--no-language-guard")
    assert code == 0, err
    odd, real = (json.loads(line) for line in out.splitlines())
    assert odd["no_match"] is True and len(odd["matches"]) == 5  # best candidates kept for inspection
    assert real["no_match"] is False and real["matches"][0]["label"].startswith("warehouse")
    code, out, err = normalize(capsys, minilm_title, jobs_index, "Pflegefachkraft", "--json")  # the guard: on
    assert json.loads(out)["language"] == "de" and json.loads(out)["matches"] == []


@pytest.mark.parametrize("k", ["0", "-2"])
def test_normalize_bad_k(capsys, title_bundle, jobs_csv, jobs_index, k) -> None:
    code, out, err = normalize(capsys, title_bundle, jobs_index, "chef", "--taxonomy", jobs_csv, "--k", k)
    assert code == 2 and out == ""
    assert "k must be a positive integer" in error_line(err)


def test_normalize_missing_taxonomy_file(capsys, title_bundle, tmp_path) -> None:
    code, _, err = normalize(capsys, title_bundle, tmp_path, "chef", "--taxonomy", tmp_path / "nope.csv")
    assert code == 2 and "no such taxonomy file" in error_line(err)


def test_missing_index_dir(capsys, title_bundle, skill_bundle, jobs_csv, tmp_path) -> None:
    missing = tmp_path / "not-there"
    code, _, err = normalize(capsys, title_bundle, missing, "chef", "--taxonomy", jobs_csv)
    assert code == 2 and "--index-dir" in error_line(err) and "mkdir" in error_line(err)
    code, _, err = extract(capsys, skill_bundle, missing, "Python programming")
    assert code == 2 and "--index-dir" in error_line(err)
    assert not missing.exists()


def test_normalize_with_the_wrong_bundle_kind(capsys, skill_bundle, jobs_csv, tmp_path) -> None:
    code, _, err = normalize(capsys, skill_bundle, tmp_path, "chef", "--taxonomy", jobs_csv)
    assert code == 2 and "title bundle" in error_line(err)


def test_an_edited_taxonomy_just_works(capsys, title_bundle, jobs_csv, tmp_path) -> None:
    """Label indexes are keyed by content: an edited taxonomy under the same name gets its own, no stale error."""
    assert normalize(capsys, title_bundle, tmp_path, "chef", "--taxonomy", jobs_csv)[0] == 0
    edited = tmp_path / "jobs.csv"  # same taxonomy name, one label changed
    edited.write_text(jobs_csv.read_text(encoding="utf-8").replace("head cook", "line cook"), encoding="utf-8")
    code, out, err = normalize(capsys, title_bundle, tmp_path, "line cook", "--taxonomy", edited, "--json",
                               "--strict-index", "--k", 1)
    assert code == 0, err
    assert json.loads(out)["matches"][0]["matched_label"] == "line cook"


def test_same_named_bundles_alternately(capsys, title_bundle, jobs_csv, tmp_path) -> None:
    """Two different bundles in folders of the same name, used alternately through one index dir: both work."""
    first = shutil.copytree(title_bundle, tmp_path / "a" / "title")
    second = other_bundle(title_bundle, tmp_path / "b" / "title")
    index_dir = tmp_path / "idx"
    index_dir.mkdir()
    outputs = {}
    for bundle in (first, second, first, second):
        code, out, err = normalize(capsys, bundle, index_dir, "chef", "nurse", "--taxonomy", jobs_csv, "--json",
                                   "--strict-index")
        assert code == 0 and "stale" not in err and "rebuilding" not in err, err
        assert outputs.setdefault(bundle, out) == out
    assert outputs[first] != outputs[second]


def test_broken_index_is_rebuilt_or_refused_with_strict_index(capsys, title_bundle, jobs_csv, tmp_path) -> None:
    assert normalize(capsys, title_bundle, tmp_path, "chef", "--taxonomy", jobs_csv)[0] == 0
    (norms,) = tmp_path.rglob("index.norms.npy")
    norms.write_bytes(b"garbage")
    code, out, err = normalize(capsys, title_bundle, tmp_path, "chef", "--taxonomy", jobs_csv, "--strict-index")
    assert code == 2 and out == "" and "index.norms.npy" in error_line(err)
    code, out, err = normalize(capsys, title_bundle, tmp_path, "chef", "--taxonomy", jobs_csv, "--json")
    assert code == 0 and json.loads(out)["matches"]
    assert "workvec: rebuilding the jobs label index" in err
    assert normalize(capsys, title_bundle, tmp_path, "chef", "--taxonomy", jobs_csv, "--strict-index")[0] == 0


# ----------------------------------------------------------------------------------------- real entry point
def test_workvec_entry_point_subprocess(title_bundle, jobs_csv, tmp_path) -> None:
    exe = Path(sys.executable).with_name("workvec")
    exe = exe if exe.is_file() else shutil.which("workvec")
    if exe is None:
        pytest.fail("the `workvec` console script is not installed next to this Python (pip install -e .)")
    env = {**os.environ, "WORKVEC_HOME": str(tmp_path / "home")}
    proc = subprocess.run([str(exe), "normalize", "sous chef", "--taxonomy", str(jobs_csv), "--bundle",
                           str(title_bundle), "--index-dir", str(tmp_path), "--k", "2", "--json"],
                          check=False, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["query"] == "sous chef"
    assert record["matches"][0] == {"id": "chef", "label": "chef", "score": record["matches"][0]["score"],
                                    "matched_label": "sous chef"}
    bad = subprocess.run([str(exe), "extract", "x", "--threshold", "-1", "--bundle", str(tmp_path)],
                         check=False, capture_output=True, text=True, timeout=300, env=env)
    assert bad.returncode == 2 and bad.stderr.startswith("workvec: error: ") and "threshold" in bad.stderr
    assert not (tmp_path / "home" / "indexes").exists(), "the CLI wrote indexes to WORKVEC_HOME though --index-dir was given"
