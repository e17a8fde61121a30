"""Shared by the CLI tests (test_cli_match.py, test_cli_extract.py): sample data, the in-process runner and its
checks (their fixtures title_bundle, skill_bundle, jobs_csv, jobs_index and skills_index are in conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

from workvec.cli import main

JOBS = [
    ("nurse", "registered nurse", ["staff nurse", "RN"]),
    ("driver", "truck driver", ["lorry driver", "HGV driver"]),
    ("chef", "chef", ["head cook", "sous chef"]),
    ("dev", "software developer", ["software engineer", "programmer"]),
    ("acct", "accountant", ["bookkeeper"]),
]
AD = ("Strong Python programming skills are required.\n"
      "• You will drive a forklift truck in our warehouse.\n"
      "• Communicate with stakeholders and write technical documentation.")


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def normalize(capsys, bundle: Path, index_dir: Path, *argv) -> tuple[int, str, str]:
    return run_cli(capsys, "normalize", *argv, "--bundle", bundle, "--index-dir", index_dir)


def extract(capsys, bundle: Path, index_dir: Path, *argv) -> tuple[int, str, str]:
    return run_cli(capsys, "extract", *argv, "--bundle", bundle, "--index-dir", index_dir)


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("workvec: error: "), err
    assert "Traceback" not in err, err
    return lines[-1]


def check_skills_json(out: str, text: str = AD) -> list[dict]:
    data = json.loads(out)
    assert set(data) == {"skills", "skipped", "truncated"}
    for skill in data["skills"]:
        assert set(skill) == {"id", "label", "score", "sentence", "sentence_start", "sentence_end", "evidence", "related"}
        assert text[skill["sentence_start"]:skill["sentence_end"]] == skill["sentence"]
        for e in skill["evidence"]:
            assert set(e) == {"text", "start", "end", "weight"}
            assert text[e["start"]:e["end"]] == e["text"]  # evidence offsets index the ad (facade)
    for skipped in data["skipped"]:
        assert skipped["skipped"] == "no requirement" and text[skipped["start"]:skipped["end"]] == skipped["sentence"]
    scores = [s["score"] for s in data["skills"]]
    assert scores == sorted(scores, reverse=True)
    return data["skills"]
