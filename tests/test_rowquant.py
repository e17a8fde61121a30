"""rowquant.py's per-row activation quantization on small synthetic ONNX graphs (linear layers and a GELU FFN)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from workvec.export import quantize, rowquant

K, N = 24, 16


def _linear_model(path: Path) -> None:
    """x [batch, seq, K] -> x @ W + b -> gelu-free second layer (x @ W2), fp32, as torch exports linears."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 0.3, (K, N)).astype(np.float32)
    w2 = rng.normal(0, 0.3, (N, N)).astype(np.float32)
    b1 = rng.normal(0, 0.1, N).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="/layer.0/dense/MatMul"),
        helper.make_node("Add", ["b1", "h"], ["hb"], name="/layer.0/dense/Add"),
        helper.make_node("MatMul", ["hb", "w2"], ["y"], name="/layer.1/dense/MatMul"),
    ]
    graph = helper.make_graph(
        nodes, "linear", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", K])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", N])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(b1, "b1")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def _session(path: Path, level: str = "all"):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = {"all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
                                        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                                        "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL}[level]
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def linear(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("onnx", reason="building test graphs needs the export extra (onnx)")
    """The fp32 graph, onnxruntime's dynamic int8 of it, and that rewritten per row (fused and standard ops)."""
    root = tmp_path_factory.mktemp("rowquant")
    paths = {name: root / f"{name}.onnx" for name in ("fp32", "per-tensor", "per-row", "per-row-std")}
    _linear_model(paths["fp32"])
    spec = quantize.QuantSpec(preset="avx2", reduce_range=True, op_types=("MatMul",), activations="per-tensor")
    quantize.quantize(paths["fp32"], paths["per-tensor"], spec)
    quantize.quantize(paths["fp32"], paths["per-row"], quantize.QuantSpec(preset="avx2", reduce_range=True, op_types=("MatMul",)))
    assert rowquant.rewrite_file(paths["per-tensor"], paths["per-row-std"], fused=False) == 2
    return paths


def _rows(rng: np.random.Generator, n: int, scale: float = 1.0) -> np.ndarray:
    return (rng.normal(0, scale, (1, n, K))).astype(np.float32)


def test_rewrite_replaces_every_dynamic_quantize(linear):
    import onnx

    ops = [n.op_type for n in onnx.load(str(linear["per-row"])).graph.node]
    assert "DynamicQuantizeLinear" not in ops and ops.count("MatMulIntegerToFloat") == 2
    assert "DynamicQuantizeLinear" in [n.op_type for n in onnx.load(str(linear["per-tensor"])).graph.node]


@pytest.mark.parametrize("name", ["per-row", "per-row-std"])
@pytest.mark.parametrize("level", ["all", "extended", "none"])
def test_a_row_does_not_depend_on_its_neighbours(linear, name, level):
    """The same rows alone and next to rows 1000x larger (e.g. padding of another length) are bit-identical."""
    rng = np.random.default_rng(1)
    rows = _rows(rng, 5)
    loud = _rows(rng, 7, scale=1000.0)
    session = _session(linear[name], level)
    alone = np.concatenate([session.run(None, {"x": rows[:, i:i + 1]})[0] for i in range(5)], axis=1)
    mixed = session.run(None, {"x": np.concatenate([loud[:, :3], rows, loud[:, 3:]], axis=1)})[0][:, 3:8]
    batched = session.run(None, {"x": np.concatenate([rows, rows[:, ::-1]], axis=0)})[0][0:1]  # batch axis too
    assert np.array_equal(alone, mixed) and np.array_equal(alone, batched)


def test_per_tensor_quantization_is_not_row_local(linear):
    """The control: onnxruntime's dynamic quantization changes a row when a loud neighbour joins its batch."""
    rng = np.random.default_rng(1)
    rows, loud = _rows(rng, 5), _rows(rng, 7, scale=1000.0)
    session = _session(linear["per-tensor"])
    alone = session.run(None, {"x": rows})[0]
    mixed = session.run(None, {"x": np.concatenate([rows, loud], axis=1)})[0][:, :5]
    assert not np.allclose(alone, mixed, rtol=1e-3, atol=1e-3)


def test_per_row_is_faithful(linear):
    """Per-row int8 is closer to fp32 than per-tensor int8 on rows of very different magnitudes."""
    rng = np.random.default_rng(2)
    x = np.concatenate([_rows(rng, 8), _rows(rng, 8, scale=50.0)], axis=1)
    ref = _session(linear["fp32"]).run(None, {"x": x})[0]
    err = {name: float(np.abs(_session(linear[name]).run(None, {"x": x})[0] - ref)[:, :8].max())
           for name in ("per-row", "per-tensor")}
    assert err["per-row"] < err["per-tensor"] / 5
    fused, std = (_session(linear[n]).run(None, {"x": x})[0] for n in ("per-row", "per-row-std"))
    np.testing.assert_allclose(fused, std, rtol=1e-5, atol=1e-5)


def _gelu_model(path: Path, down_bias: bool = True) -> None:
    """x -> x @ W1 + b1 -> GELU (as torch exports it: x * 0.5 * (1 + erf(x / sqrt 2))) -> @ W2 (+ b2): an FFN."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    w2 = rng.integers(-60, 64, (4 * N, N)).astype(np.float64)  # exact in 7 bits: only activations round
    w2[0] = 64
    inits = {"w1": rng.normal(0, 0.3, (K, 4 * N)), "b1": rng.normal(-0.5, 0.3, 4 * N),
             "w2": w2 * 0.3 / 64, "b2": rng.normal(0, 0.1, N),
             "sqrt2": np.array(np.sqrt(2.0)), "one": np.array(1.0), "half": np.array(0.5)}
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="/intermediate/dense/MatMul"),
        helper.make_node("Add", ["b1", "h"], ["hb"], name="/intermediate/dense/Add"),
        helper.make_node("Div", ["hb", "sqrt2"], ["d"], name="/act/Div"),
        helper.make_node("Erf", ["d"], ["e"], name="/act/Erf"),
        helper.make_node("Add", ["e", "one"], ["e1"], name="/act/Add"),
        helper.make_node("Mul", ["hb", "e1"], ["m"], name="/act/Mul"),
        helper.make_node("Mul", ["m", "half"], ["g"], name="/act/Mul_1"),
        helper.make_node("MatMul", ["g", "w2"], ["o" if down_bias else "y"], name="/output/dense/MatMul"),
    ]
    if down_bias:
        nodes.append(helper.make_node("Add", ["b2", "o"], ["y"], name="/output/dense/Add"))
    else:
        del inits["b2"]
    graph = helper.make_graph(
        nodes, "ffn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", K])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", N])],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


@pytest.fixture(scope="module")
def ffn(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("onnx", reason="building test graphs needs the export extra (onnx)")
    root = tmp_path_factory.mktemp("rowquant-gelu")
    paths = {name: root / f"{name}.onnx" for name in ("fp32", "per-tensor", "per-row", "per-row-std", "fp32-nobias",
                                                       "per-row-down", "per-row-nobias")}
    _gelu_model(paths["fp32"])
    _gelu_model(paths["fp32-nobias"], down_bias=False)
    spec = quantize.QuantSpec(preset="avx2", reduce_range=True, op_types=("MatMul",))
    quantize.quantize(paths["fp32"], paths["per-tensor"], replace(spec, activations="per-tensor"))
    quantize.quantize(paths["fp32"], paths["per-row"], spec)
    down_only = replace(spec, exclude=("intermediate",))  # the up-projection in fp32: the down one's error alone
    quantize.quantize(paths["fp32"], paths["per-row-down"], down_only)
    quantize.quantize(paths["fp32-nobias"], paths["per-row-nobias"], down_only)
    assert rowquant.rewrite_file(paths["per-tensor"], paths["per-row-std"], fused=False) == 2
    return paths


def test_gelu_output_is_shifted_and_the_bias_absorbs_it(ffn):
    """The FFN down-projection's GELU input is quantized as x + GELU_SHIFT with zero point 0, and its bias is
    b2 - GELU_SHIFT * colsum(dequantized W2); the up-projection's input keeps the symmetric form."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(ffn["per-row"]))
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    ops = {n.op_type: n for n in model.graph.node if n.op_type == "MatMulIntegerToFloat" and "output" in n.name}
    down = ops["MatMulIntegerToFloat"]
    assert down.input[4] == rowquant.CONSTS["zp0"] and inits[down.input[4]] == 0
    assert [n.name.endswith("RowShift") for n in model.graph.node].count(True) == 1
    assert [n.name.endswith("RowAbs") for n in model.graph.node].count(True) == 1  # the up-projection's input
    w2 = (inits[down.input[1]].astype(np.float64) - inits[down.input[5]]) * inits[down.input[3]]
    b2 = numpy_helper.to_array(next(i for i in onnx.load(str(ffn["fp32"])).graph.initializer if i.name == "b2"))
    np.testing.assert_allclose(inits["b2"], b2 - rowquant.GELU_SHIFT * w2.sum(axis=0), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["per-row", "per-row-std"])
@pytest.mark.parametrize("level", ["all", "extended", "none"])
def test_shifted_gelu_is_faithful_and_row_local(ffn, name, level):
    """With the shift the int8 FFN stays close to fp32 (without the bias correction the unit-scale rows would
    be off by GELU_SHIFT * colsum(W2): 0.31-0.53 of their max), and a row alone equals the row next to loud
    neighbours."""
    rng = np.random.default_rng(4)
    x = np.concatenate([_rows(rng, 6), _rows(rng, 6, scale=20.0)], axis=1)
    ref = _session(ffn["fp32"], "none").run(None, {"x": x})[0]
    session = _session(ffn[name], level)
    out = session.run(None, {"x": x})[0]
    err = np.abs(out - ref).max(axis=-1) / np.abs(ref).max(axis=-1)
    assert err[:, :6].max() < 0.06, err
    alone = np.concatenate([session.run(None, {"x": x[:, i:i + 1]})[0] for i in range(x.shape[1])], axis=1)
    assert np.array_equal(alone, out)


def test_shift_is_more_faithful_than_symmetric(ffn):
    """One bit more for the GELU output: the shifted down-projection is closer to fp32 than a symmetric one
    (the graph without a down bias has nothing to absorb the shift, so it keeps the symmetric form; W2 is exact
    in 7 bits and the up-projection stays fp32, so the difference is the activations' rounding alone)."""
    import onnx

    assert not any(n.name.endswith("RowShift") for n in onnx.load(str(ffn["per-row-nobias"])).graph.node)
    rng = np.random.default_rng(5)
    x = _rows(rng, 64)
    errs = {}
    for name, fp32 in (("per-row-down", "fp32"), ("per-row-nobias", "fp32-nobias")):
        ref = _session(ffn[fp32], "none").run(None, {"x": x})[0]
        out = _session(ffn[name]).run(None, {"x": x})[0]
        errs[name] = float(np.abs(out - ref).mean())
    assert errs["per-row-down"] < 0.75 * errs["per-row-nobias"], errs


def test_a_graph_without_dynamic_quantization_is_refused(linear, tmp_path):
    import onnx

    from workvec.errors import ExportError

    assert rowquant.rewrite(onnx.load(str(linear["fp32"]))) == 0
    with pytest.raises(ExportError, match="no DynamicQuantizeLinear"):
        rowquant.rewrite_file(linear["fp32"], tmp_path / "x.onnx")
