"""The parity gate's batch-invariance check: the int8 bar, the info line, and (tiny) bundles measured end to end."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from workvec.errors import ParityError
from workvec.export import invariance, parity, quantize
from workvec.runtime.manifest import MODEL_FILES, file_record, read_manifest


def test_gate_refuses_a_batch_dependent_int8():
    stats = {"mean_cosine": 0.999, "min_cosine": 0.998, "top10_overlap": 0.99,
             "batch_invariance": {"min_cosine": 0.9991, "max_abs_diff": 0.01, "bit_identical": False}}
    failures = parity.int8_failures(stats, parity.Thresholds())
    assert len(failures) == 1 and "batch_invariance min_cosine 0.9991000 < 0.99999" in failures[0]
    stats["batch_invariance"]["min_cosine"] = 0.9999999
    assert parity.int8_failures(stats, parity.Thresholds()) == []


def test_info_line_shows_invariance():
    from workvec.parity_line import parity_line

    inv = {"min_cosine": 0.99999999, "max_abs_diff": 4.5e-8, "bit_identical": False, "identical_share": 0.48,
           "token_min_cosine": 1.0, "token_max_abs_diff": 0.0}
    report = {"fp32": {"min_cosine": 1.0},
              "int8": {"mean_cosine": 0.9956, "min_cosine": 0.9919, "top10_overlap": 0.922, "batch_invariance": inv}}
    line = parity_line(report)
    assert "batch invariance: 48% bit-identical, min cosine 1.0000000, max abs diff 4.5e-08" in line
    assert line.endswith("token vectors bit-identical")
    del report["int8"]["batch_invariance"]
    assert "not measured" in parity_line(report)


# ------------------------------------------------------------------ integration: a real (tiny) bundle


def _with_int8(bundle: Path, out: Path, activations: str) -> Path:
    """A copy of an fp32-only bundle with an int8 model quantized with `activations`."""
    shutil.copytree(bundle, out)
    spec = quantize.QuantSpec(preset="avx2", reduce_range=True, activations=activations)
    quantize.quantize(out / MODEL_FILES["fp32"], out / MODEL_FILES["int8"], spec)
    data = json.loads((out / "workvec.json").read_text())
    data["files"][MODEL_FILES["int8"]] = file_record(out / MODEL_FILES["int8"])
    data["quantization"] = spec.to_json()
    (out / "workvec.json").write_text(json.dumps(data))
    return out


def _measure(bundle: Path) -> dict:
    manifest = read_manifest(bundle)
    return invariance.measure(bundle / MODEL_FILES["int8"], bundle / "tokenizer.json",
                              max_seq_length=manifest.max_seq_length, pad_id=manifest.pad_id,
                              probes=parity.probe_texts()[::6], tokens=manifest.kind == "skill")


@pytest.mark.parametrize("kind", ["title", "skill"])
def test_committed_tiny_bundles_are_batch_invariant(tiny_title_bundle, tiny_skill_bundle, kind):
    """The torch-free fixture bundles were exported with per-row int8: alone == in any batch, any thread count."""
    import workvec

    bundle = {"title": tiny_title_bundle, "skill": tiny_skill_bundle}[kind]
    report = _measure(bundle)
    assert report["min_cosine"] >= 0.99999 and report.get("token_min_cosine", 1.0) >= 0.99999, report
    assert read_manifest(bundle).quantization["activations"].startswith("per-row")
    if importlib.util.find_spec("onnx"):  # the GELU outputs (FFN down inputs, one per layer) are quantized shifted
        import onnx

        nodes = onnx.load(str(bundle / MODEL_FILES["int8"])).graph.node
        assert sum(n.name.endswith("RowShift") for n in nodes) == 2
    texts = ["data scientist", "", "we are looking for a senior java developer with cloud experience " * 3]
    enc = workvec.Encoder.open(bundle, precision="int8")
    alone = [enc.encode_tokens([t])[0].vectors for t in texts] if kind == "skill" else None
    if alone is not None:  # token vectors: bit-identical
        together = enc.encode_tokens(texts * 4, batch_size=64)[:3]
        assert all(np.array_equal(a, b.vectors) for a, b in zip(alone, together))


@pytest.mark.integration
@pytest.mark.parametrize("name", ["router-title", "router-skill"])
def test_tiny_bundle_is_batch_invariant(tiny_bundles, tmp_path, name):
    import workvec

    bundle = _with_int8(tiny_bundles[name], tmp_path / name, "per-row")
    report = _measure(bundle)
    assert report["min_cosine"] >= 0.99999 and report.get("token_min_cosine", 1.0) >= 0.99999, report
    texts = ["data scientist", "nurse", "we are looking for a senior java developer with cloud experience " * 3]
    enc = workvec.Encoder.open(bundle, precision="int8", verify=False)
    alone = np.concatenate([enc.encode([t]) for t in texts])
    together = enc.encode(texts * 5, batch_size=64)[:3]
    np.testing.assert_allclose(alone, together, rtol=0, atol=1e-6)


@pytest.mark.integration
def test_tiny_per_tensor_bundle_misses_the_bar(tiny_bundles, tmp_path):
    report = _measure(_with_int8(tiny_bundles["router-title"], tmp_path / "pt", "per-tensor"))
    stats = {"mean_cosine": 1.0, "min_cosine": 1.0, "top10_overlap": 1.0, "batch_invariance": report}
    assert report["min_cosine"] < 0.99999 and parity.int8_failures(stats, parity.Thresholds())


@pytest.mark.integration
def test_export_refuses_below_the_invariance_bar(tiny_mpnet, tmp_path, monkeypatch):
    """The whole export: int8 that is faithful enough but batch-dependent is refused, and nothing is left."""
    from conftest import torch_threads

    from workvec.export import bundle
    from workvec.export.bundle import ExportRequest, export_bundle

    per_tensor = quantize.QuantSpec(preset="avx2", reduce_range=True, activations="per-tensor")
    monkeypatch.setattr(bundle, "quant_ladder", lambda preset: [per_tensor])
    relaxed = ["int8_mean_cosine=0", "int8_min_cosine=0", "int8_top10_overlap=0"]
    with torch_threads(1), pytest.raises(ParityError, match="batch_invariance"):
        export_bundle(ExportRequest(model=str(tiny_mpnet.router), kind="title", out=tmp_path / "b",
                                    bar=parity.Thresholds.parse(relaxed)), log=lambda _: None)
    assert not (tmp_path / "b").exists() or not any((tmp_path / "b").iterdir())
