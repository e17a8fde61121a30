"""tablequant.py: int8 embedding tables with a scale per row, on a small synthetic ONNX graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workvec.export import tablequant

ROWS, WIDTH = 50, 16


def _table() -> np.ndarray:
    """Rows of very different norms (a rare token's row is small), one outlier value, one all-zero row."""
    rng = np.random.default_rng(0)
    table = rng.normal(0, 1, (ROWS, WIDTH)) * np.geomspace(0.01, 1, ROWS)[:, None]
    table[3, 5] = 40.0
    table[7] = 0.0
    return table.astype(np.float32)


def _model(path: Path, table: np.ndarray) -> None:
    """ids [batch, seq] -> Gather(table) + Gather(table) of the shifted ids (two readers of one table)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("Gather", ["table", "ids"], ["rows"], name="/embeddings/Gather"),
             helper.make_node("Add", ["ids", "one"], ["next"], name="/shift"),
             helper.make_node("Gather", ["table", "next"], ["rows2"], name="/embeddings/Gather_1"),
             helper.make_node("Add", ["rows", "rows2"], ["out"], name="/sum")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("ids", TensorProto.INT64, ["b", "s"])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["b", "s", WIDTH])],
                              [numpy_helper.from_array(table, "table"), numpy_helper.from_array(np.int64(1), "one")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def _run(path: Path, ids: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["out"], {"ids": ids})[0]


def test_rows_keep_their_own_precision() -> None:
    table = _table()
    q, scale = tablequant.quantize_rows(table)
    assert q.dtype == np.int8 and scale.shape == (ROWS, 1) and scale[7, 0] == 1.0  # a zero row stays zero
    back = q * scale
    err = np.abs(back - table).max(axis=1)
    assert np.all(err <= scale[:, 0] / 2 + 1e-7)  # half a step of the row's own scale
    cos = np.sum(back * table, 1) / np.maximum(np.linalg.norm(back, axis=1) * np.linalg.norm(table, axis=1), 1e-12)
    others = np.delete(np.arange(ROWS), [3, 7])
    assert cos[others].min() > 0.999  # one table-wide scale (set by the 40.0) would flatten the small rows


def test_the_graph_gathers_dequantized_rows(tmp_path: Path) -> None:
    table = _table()
    _model(tmp_path / "fp32.onnx", table)
    assert tablequant.rewrite_file(tmp_path / "fp32.onnx", tmp_path / "int8.onnx") == 1
    import onnx

    model = onnx.load(str(tmp_path / "int8.onnx"))
    assert {i.name for i in model.graph.initializer} == {"table_rowint8", "table_rowscale", "one"}
    ids = np.array([[0, 3, 9, 48], [7, 7, 20, 1]], dtype=np.int64)
    q, scale = tablequant.quantize_rows(table)
    deq = q * scale
    expected = deq[ids] + deq[ids + 1]
    got = _run(tmp_path / "int8.onnx", ids)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    alone = np.concatenate([_run(tmp_path / "int8.onnx", ids[i:i + 1]) for i in range(2)])
    assert np.array_equal(alone, got)  # each token's row alone: batch-invariant


def test_graph_without_float_tables_is_left_alone(tmp_path: Path) -> None:
    table = _table()
    _model(tmp_path / "fp32.onnx", table)
    tablequant.rewrite_file(tmp_path / "fp32.onnx", tmp_path / "once.onnx")
    assert tablequant.rewrite_file(tmp_path / "once.onnx", tmp_path / "twice.onnx") == 0
