"""`workvec export` on bad input: exit code 2, a message naming the problem and the fix, nothing written."""

from __future__ import annotations

import importlib.util
import time

import pytest

from conftest import export, export_leftovers, torch_threads

if importlib.util.find_spec("sentence_transformers") is None:  # checked without importing torch
    pytest.skip("the export tests need the export extra (torch)", allow_module_level=True)
pytestmark = pytest.mark.integration  # exports through torch


# --- bad input: exit code 2 and a message naming the problem --------------------------------------------------


def _fails(capsys, *argv) -> str:
    with torch_threads(1):
        code = export(*argv)
    assert code == 2
    return capsys.readouterr().err


def test_missing_model_path(tmp_path, capsys):
    err = _fails(capsys, tmp_path / "no-such-model", tmp_path / "out", "--kind", "title")
    assert "no-such-model" in err and "does not exist" in err
    assert not (tmp_path / "out").exists()


def test_directory_that_is_not_a_sentence_transformers_model(tmp_path, capsys):
    folder = tmp_path / "notamodel"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    err = _fails(capsys, folder, tmp_path / "out", "--kind", "title")
    assert "not a sentence-transformers model" in err and "modules.json" in err


def test_model_path_that_is_a_file(tmp_path, capsys):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"x")
    err = _fails(capsys, path, tmp_path / "out", "--kind", "title")
    assert "is a file" in err


def test_unknown_branch(tiny_mpnet, tmp_path, capsys):
    err = _fails(capsys, tiny_mpnet.router, tmp_path / "out", "--kind", "title", "--branch", "query")
    assert "'query'" in err and "not a route" in err and "anchor" in err and "positive" in err
    assert not (tmp_path / "out").exists() and export_leftovers(tmp_path) == []


def test_branch_on_a_model_without_asym(tiny_mpnet, tmp_path, capsys):
    err = _fails(capsys, tiny_mpnet.plain, tmp_path / "out", "--kind", "title", "--branch", "anchor")
    assert "no Asym/Router head" in err and "--branch" in err


def test_branch_with_kind_skill(tiny_mpnet, tmp_path, capsys):
    err = _fails(capsys, tiny_mpnet.asym, tmp_path / "out", "--kind", "skill", "--branch", "positive")
    assert "--branch" in err and "title" in err


def test_unknown_bar_name(tiny_mpnet, tmp_path, capsys):
    err = _fails(capsys, tiny_mpnet.router, tmp_path / "out", "--kind", "title", "--bar", "fp32_cosine=0.5")
    assert "fp32_cosine" in err and "fp32_min_cosine" in err


def test_out_that_is_not_a_bundle_is_not_overwritten(tiny_mpnet, tmp_path, capsys):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    err = _fails(capsys, tiny_mpnet.router, out, "--kind", "title")
    assert "not a workvec bundle" in err
    assert (out / "notes.txt").read_text() == "keep me"


def test_hub_id_offline_fails_fast(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no local folder called TechWolf/JobBERT-v2
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    err = _fails(capsys, "TechWolf/JobBERT-v2", tmp_path / "out", "--kind", "title")
    assert time.perf_counter() - started < 10
    assert "TechWolf/JobBERT-v2" in err and "offline" in err
    assert "--local-dir" in err and "pass DIR" in err  # the local-path alternative
