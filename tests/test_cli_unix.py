"""The CLI as a Unix tool: real subprocesses of `python -m workvec` on the tiny fixture bundles (no torch)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import workvec
from workvec.runtime.skills import DEFAULT_THRESHOLD


def run(*argv: str | bytes, home: Path, stdin: bytes | None = None, shell: str | None = None) -> subprocess.CompletedProcess:
    """`python -m workvec ARGV` (or a shell pipeline using $WORKVEC) with WORKVEC_HOME=home; bytes kept as given."""
    env = {**os.environ, "WORKVEC_HOME": str(home), "WORKVEC": f"{sys.executable} -m workvec"}
    if shell is not None:
        return subprocess.run(["bash", "-o", "pipefail", "-c", shell], input=stdin, capture_output=True, env=env,
                              timeout=120)
    args = [sys.executable.encode(), b"-m", b"workvec", *(a if isinstance(a, bytes) else a.encode() for a in argv)]
    return subprocess.run(args, input=stdin, capture_output=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli-home")


def test_version_and_module_entry_point(home) -> None:
    done = run("--version", home=home)
    assert done.returncode == 0 and done.stdout.decode().strip() == f"workvec {workvec.__version__}"
    helped = run("--help", home=home)
    assert helped.returncode == 0
    for command in ("export", "info", "normalize", "extract", "cache", "demo"):
        assert command in helped.stdout.decode()


def test_help_names_embedded_taxonomies_and_defaults(home) -> None:
    text = run("extract", "--help", home=home).stdout.decode()
    assert "esco-skills" in text and "onet" in text
    assert "calibrated threshold" in " ".join(text.split()) and f"{DEFAULT_THRESHOLD} for bundles" in " ".join(text.split())
    assert "esco-occupations" in run("normalize", "--help", home=home).stdout.decode()


def test_normalize_streams_stdin_and_file_one_json_line_per_title(home, tmp_path, tiny_title_bundle) -> None:
    titles = ["software engineer", "", "registered nurse", "truck driver"]
    path = tmp_path / "titles.txt"
    path.write_text("\n".join(titles) + "\n", encoding="utf-8")
    common = ("--json", "--k", "2", "--taxonomy", "onet", "--bundle", str(tiny_title_bundle))
    from_stdin = run("normalize", "-", *common, home=home, stdin=path.read_bytes())
    from_file = run("normalize", "--file", str(path), *common, home=home)
    assert from_stdin.returncode == 0, from_stdin.stderr.decode()
    assert from_stdin.stdout == from_file.stdout
    lines = [json.loads(line) for line in from_stdin.stdout.decode().splitlines()]
    assert [line["query"] for line in lines] == titles
    assert lines[1]["matches"] == [] and all(len(line["matches"]) == 2 for i, line in enumerate(lines) if i != 1)
    assert "title 2 is empty" in from_stdin.stderr.decode()


def test_closed_pipe_ends_quietly(home, tmp_path, tiny_title_bundle) -> None:
    path = tmp_path / "many.txt"
    path.write_text("".join(f"data analyst {i}\n" for i in range(3000)), encoding="utf-8")
    done = run(home=home, shell=f'$WORKVEC normalize --file {path} --json --taxonomy onet --bundle {tiny_title_bundle} | head -1')
    assert done.returncode == 0, done.stderr.decode()
    assert len(done.stdout.decode().splitlines()) == 1
    assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr


def test_empty_inputs_say_so_and_print_valid_empty_results(home, tiny_title_bundle, tiny_skill_bundle) -> None:
    extracted = run("extract", "", "--json", "--bundle", str(tiny_skill_bundle), home=home)
    assert extracted.returncode == 0 and json.loads(extracted.stdout) == {"skills": [], "skipped": [], "truncated": False}
    assert "empty" in extracted.stderr.decode()
    normalized = run("normalize", "", "--json", "--taxonomy", "onet", "--bundle", str(tiny_title_bundle), home=home)
    assert normalized.returncode == 0 and json.loads(normalized.stdout) == {
        "query": "", "cleaned": "", "no_match": True, "matches": [], "tied_with": [], "language": None}
    nothing = run("normalize", "-", "--json", "--bundle", str(tiny_title_bundle), home=home, stdin=b"")
    assert nothing.returncode == 0 and nothing.stdout == b"" and "no titles" in nothing.stderr.decode()


@pytest.mark.parametrize("argv, message", [
    ((b"normalize", b"caf\xe9"), "argument 2 is not valid UTF-8"),
    ((b"normalize",), "no titles given"),
    ((b"normalize", b"x", b"--k", b"0"), "k must be a positive integer (got 0)"),
    ((b"extract", b"x", b"--threshold", b"2"), "threshold must be within [0, 1]"),
    ((b"normalize", b"--file", b"/nonexistent/titles.txt"), "does not exist"),
])
def test_bad_input_is_one_clear_line(home, argv, message) -> None:
    done = run(*argv, home=home)
    err = done.stderr.decode()
    assert done.returncode == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_non_utf8_title_file_names_the_line(home, tmp_path, tiny_title_bundle) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"nurse\ncaf\xe9 manager\n")
    done = run("normalize", "--file", str(path), "--taxonomy", "onet", "--bundle", str(tiny_title_bundle), home=home)
    assert done.returncode == 2 and "line 2 is not UTF-8" in done.stderr.decode()


def test_cache_list_and_clear(home, tiny_title_bundle) -> None:
    assert run("normalize", "nurse", "--taxonomy", "onet", "--bundle", str(tiny_title_bundle), home=home).returncode == 0
    listed = json.loads(run("cache", "list", "--json", home=home).stdout)
    kinds = {entry["kind"] for entry in listed["entries"]}
    assert {"indexes", "graphs"} <= kinds
    onet = [e for e in listed["entries"] if e["kind"] == "indexes" and e["about"].startswith("onet (1016 labels")]
    assert onet and onet[0]["bytes"] > 0
    cleared = run("cache", "clear", "--only", "indexes", home=home)
    assert cleared.returncode == 0 and "cleared indexes" in cleared.stdout.decode()
    left = json.loads(run("cache", "list", "--json", home=home).stdout)["entries"]
    assert not [e for e in left if e["kind"] == "indexes"] and [e for e in left if e["kind"] == "graphs"]


def test_graph_cache_drops_entries_of_deleted_models(home, tmp_path, tiny_title_bundle) -> None:
    import shutil

    copy = tmp_path / "gone"
    shutil.copytree(tiny_title_bundle, copy)
    assert run("normalize", "nurse", "--taxonomy", "onet", "--bundle", str(copy), home=home).returncode == 0
    graphs = lambda: {e["path"] for e in json.loads(run("cache", "list", "--json", home=home).stdout)["entries"]  # noqa: E731
                      if e["kind"] == "graphs" and str(copy) in e["about"]}
    assert graphs()
    shutil.rmtree(copy)
    assert not graphs()
