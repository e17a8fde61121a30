"""`workvec extract`: output formats, input handling and exit codes (in-process through `workvec.cli.main`; the
committed tiny skill bundle for contracts, MiniLM for real matches)."""

from __future__ import annotations

import io
import json
import sys

import pytest
from cli_helpers import AD, check_skills_json, error_line, extract, run_cli


def test_extract_json(capsys, skill_bundle, skills_index) -> None:
    code, out, err = extract(capsys, skill_bundle, skills_index, AD, "--json")
    assert code == 0, err
    skills = check_skills_json(out)
    assert skills and all(s["score"] >= 0.6 for s in skills)  # the default threshold
    assert all(s["sentence"] in AD for s in skills)


@pytest.mark.integration
def test_extract_json_minilm_with_the_requirement_filter(capsys, minilm_skill, skills_index) -> None:
    code, out, err = extract(capsys, minilm_skill, skills_index, AD, "--json")
    assert code == 0, err
    skills = check_skills_json(out)
    labels = {s["label"] for s in skills}
    assert "Python (computer programming)" in labels, labels
    assert all(s["score"] >= 0.55 for s in skills)
    assert all(s["sentence"] in AD for s in skills)
    # The requirement filter (trained on SkillSpan's office-work ads) skips the forklift task statement; it is
    # reported, never dropped, and --no-requirement-filter scores it.
    assert [s["sentence"] for s in json.loads(out)["skipped"]] == ["You will drive a forklift truck in our warehouse."]
    code, out, err = extract(capsys, minilm_skill, skills_index, AD, "--json", "--no-requirement-filter")
    assert code == 0, err
    assert "operate forklift" in {s["label"] for s in check_skills_json(out)} and json.loads(out)["skipped"] == []


def test_extract_threshold_and_k(capsys, skill_bundle, skills_index) -> None:
    code, out, err = extract(capsys, skill_bundle, skills_index, AD, "--json", "--threshold", "0.7", "--k", "1")
    assert code == 0, err
    skills = check_skills_json(out)
    assert skills and all(s["score"] >= 0.7 for s in skills)
    assert len({s["sentence"] for s in skills}) == len(skills)


def test_extract_text_output(capsys, skill_bundle, skills_index) -> None:
    code, out, err = extract(capsys, skill_bundle, skills_index, "You will drive a forklift truck in our warehouse.")
    assert code == 0, err
    lines = out.splitlines()
    assert lines and all("[" in line and "<- You will drive" in line for line in lines), out


@pytest.mark.integration
def test_extract_finds_real_skills(capsys, minilm_skill, skills_index) -> None:
    # the requirement filter skips the forklift task statement (tested above); without it, both skills are found
    code, out, err = extract(capsys, minilm_skill, skills_index, AD, "--json", "--no-requirement-filter")
    assert code == 0, err
    labels = {s["label"] for s in check_skills_json(out)}
    assert {"Python (computer programming)", "operate forklift"} <= labels, labels
    code, out, err = extract(capsys, minilm_skill, skills_index, "You will drive a forklift truck in our warehouse.",
                             "--no-requirement-filter")
    assert any("operate forklift" in line and "[forklift" in line for line in out.splitlines()), out


def test_extract_file_and_stdin_match_the_argument(capsys, monkeypatch, skill_bundle, skills_index,
                                                   tmp_path) -> None:
    code, from_arg, err = extract(capsys, skill_bundle, skills_index, AD, "--json")
    assert code == 0, err
    ad_file = tmp_path / "ad.txt"
    ad_file.write_text(AD, encoding="utf-8")
    code, from_file, err = extract(capsys, skill_bundle, skills_index, "--file", ad_file, "--json")
    assert code == 0, err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(AD.encode("utf-8")), encoding="utf-8"))
    code, from_stdin, err = extract(capsys, skill_bundle, skills_index, "-", "--json")
    assert code == 0, err
    assert json.loads(from_file) == json.loads(from_arg) == json.loads(from_stdin)
    assert check_skills_json(from_arg)


@pytest.mark.parametrize("text", ["", "   \n"])
def test_extract_empty_text(capsys, skill_bundle, skills_index, text) -> None:
    code, out, err = extract(capsys, skill_bundle, skills_index, text, "--json")
    assert code == 0, err
    assert json.loads(out) == {"skills": [], "skipped": [], "truncated": False}
    assert "empty" in err


def test_extract_empty_stdin(capsys, monkeypatch, skill_bundle, skills_index) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8"))
    code, out, err = extract(capsys, skill_bundle, skills_index, "-", "--json")
    assert code == 0, err
    assert json.loads(out) == {"skills": [], "skipped": [], "truncated": False}


@pytest.mark.parametrize("content, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
    ("Erfahrung mit Führung und Datenbanken".encode("latin-1"), "not UTF-8"),
])
def test_extract_rejects_binary_and_non_utf8_files(capsys, skill_bundle, skills_index, tmp_path, content,
                                                   message) -> None:
    path = tmp_path / "ad.bin"
    path.write_bytes(content)
    code, out, err = extract(capsys, skill_bundle, skills_index, "--file", path, "--json")
    assert code == 2 and out == ""
    line = error_line(err)
    assert message in line and str(path) in line, line


def test_extract_rejects_non_utf8_stdin(capsys, monkeypatch, skill_bundle, skills_index) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"caf\xe9 manager"), encoding="utf-8"))
    code, out, err = extract(capsys, skill_bundle, skills_index, "-")
    assert code == 2 and out == "" and "stdin is not UTF-8" in error_line(err)


@pytest.mark.parametrize("argv, message", [
    (["Python", "--threshold", "-0.1"], "threshold"),
    (["Python", "--threshold", "1.5"], "threshold"),
    (["Python", "--k", "0"], "k must be a positive integer"),
    (["Python", "--k", "-3"], "k must be a positive integer"),
    ([], "no ad given"),
    (["Python", "--file", "ad.txt"], "either as TEXT or with --file"),
    (["--file", "does-not-exist.txt"], "does not exist"),
    (["Python", "--taxonomy", "no-such-taxonomy"], "unknown taxonomy"),
])
def test_extract_bad_arguments(capsys, skill_bundle, skills_index, argv, message) -> None:
    code, out, err = extract(capsys, skill_bundle, skills_index, *argv)
    assert code == 2 and out == ""
    assert message in error_line(err), err


def test_extract_with_the_wrong_bundle_kind(capsys, title_bundle, jobs_csv, tmp_path) -> None:
    code, _, err = run_cli(capsys, "extract", "Python", "--bundle", title_bundle, "--index-dir", tmp_path,
                           "--taxonomy", jobs_csv)
    assert code == 2 and "skill bundle" in error_line(err)
