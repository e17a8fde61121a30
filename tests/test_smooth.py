"""SmoothQuant-style smoothing (workvec.export.smooth): same fp32 function, outliers moved into the weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

onnx = pytest.importorskip("onnx", reason="smoothing rewrites ONNX graphs: needs the export extra (onnx)")
from onnx import numpy_helper  # noqa: E402

from workvec.errors import ExportError  # noqa: E402
from workvec.export.smooth import calibration_texts, smooth  # noqa: E402
from workvec.export.parity import label_texts, probe_texts  # noqa: E402
from workvec.runtime.tokenizer import iter_batches, load_tokenizer, tokenize  # noqa: E402

FFN = r"/(intermediate|output)/dense/"


def _run(model: Path, bundle: Path, texts: list[str]) -> np.ndarray:
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    tokenizer = load_tokenizer(bundle / "tokenizer.json", 64)
    names = [i.name for i in session.get_inputs()]
    rows = []
    for batch in iter_batches(tokenize(tokenizer, texts), 8, json.loads((bundle / "workvec.json").read_text())["pad_id"]):
        given = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask,
                 "token_type_ids": np.zeros_like(batch.input_ids)}
        out = session.run(["sentence_embedding"], {n: given[n] for n in names})[0]
        rows.extend(zip(batch.order, out))
    return np.stack([v for _, v in sorted(rows, key=lambda r: r[0])])


@pytest.mark.parametrize("only", ["", FFN])
def test_smoothing_keeps_the_fp32_function(tiny_title_bundle, tmp_path, only: str) -> None:
    bundle = tiny_title_bundle
    pad_id = json.loads((bundle / "workvec.json").read_text())["pad_id"]
    out = tmp_path / "smoothed.onnx"
    count = smooth(bundle / "model.onnx", out, bundle / "tokenizer.json", pad_id, alpha=0.8, only=only)
    assert count > 0
    texts = probe_texts()[:40]
    np.testing.assert_allclose(_run(out, bundle, texts), _run(bundle / "model.onnx", bundle, texts), atol=2e-5)
    smoothed = onnx.load(str(out))
    muls = [n for n in smoothed.graph.node if n.name.endswith("/Smooth")]
    assert len(muls) == count
    onnx.checker.check_model(smoothed)
    if only:  # only activations feeding FFN MatMuls were touched
        consumers = {n.input[0]: n.name for n in smoothed.graph.node if n.op_type == "MatMul"}
        assert all("dense" in consumers[m.output[0]] for m in muls)


def test_smoothing_moves_activation_range_into_weights(tiny_title_bundle, tmp_path) -> None:
    bundle = tiny_title_bundle
    out = tmp_path / "smoothed.onnx"
    smooth(bundle / "model.onnx", out, bundle / "tokenizer.json", 0, alpha=0.8, only=FFN)
    before = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(bundle / "model.onnx")).graph.initializer}
    after = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(out)).graph.initializer}
    inverse = [v for k, v in after.items() if k.endswith("/smooth_inv")]
    assert inverse and all(v.ndim == 1 and (v > 0).all() for v in inverse)
    changed = [k for k in before if before[k].shape == after[k].shape and not np.array_equal(before[k], after[k])]
    assert changed  # weight rows were rescaled


def test_calibration_texts_are_not_the_parity_texts() -> None:
    texts = calibration_texts()
    assert len(texts) >= 300 and len(set(texts)) > 0.9 * len(texts)
    assert not set(texts) & (set(probe_texts()) | set(label_texts()))


def test_a_graph_without_weight_matmuls_is_refused(tmp_path) -> None:
    node = onnx.helper.make_node("Relu", ["x"], ["y"])
    graph = onnx.helper.make_graph([node], "g", [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
                                   [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])
    path = tmp_path / "relu.onnx"
    onnx.save(onnx.helper.make_model(graph), str(path))
    with pytest.raises(ExportError, match="no MatMul with constant weights"):
        smooth(path, tmp_path / "out.onnx", tmp_path / "tokenizer.json", 0)
