"""int8 embedding tables with one scale per row (the token, position and type tables of the int8 graph).

onnxruntime's dynamic quantization gives a Gather table one uint8 scale for the whole table, set by its extreme
values, so a row of small norm keeps few steps: on all-mpnet-base-v2's real 30,527-row table the worst row's
cosine to fp32 is 0.967 (mean 0.9969); per row (symmetric int8, scale max|row| / 127) the worst is 0.9988 (mean
0.99995), for 4 bytes per row more (1 MB on XLM-RoBERTa's 250,002 rows, whose int8 table is 192 MB of the ~280 MB
int8 model). Figures: benchmarks/quality/embedding_int8.py.

The table `T` of `Gather(T, ids)` becomes `Tq` (int8 [rows, width]) and `S` (float32 [rows, 1]) and the node
`Cast(Gather(Tq, ids)) * Gather(S, ids)`: standard ops only, exact per token, so batch-invariant.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["quantize_rows", "quantize_tables", "rewrite_file"]


def quantize_rows(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int8 rows, float32 [rows, 1] scales) of a float table: symmetric, max|row| / 127 (1.0 for a zero row)."""
    amax = np.abs(table).max(axis=1, keepdims=True).astype(np.float32)
    scale = np.where(amax > 0, amax / np.float32(127.0), np.float32(1.0)).astype(np.float32)
    q = np.clip(np.rint(table / scale), -127, 127).astype(np.int8)
    return q, scale


def _tables(graph) -> dict[str, list]:
    """Float 2-D initializer name -> the Gather nodes reading its rows (axis 0), for tables that nothing else reads
    and whose rows are vectors (not the [rows, 1] scales this module writes)."""
    from onnx import TensorProto

    inits = {i.name: i for i in graph.initializer}
    users: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    found = {}
    for name, init in inits.items():
        nodes = users.get(name, [])
        if init.data_type != TensorProto.FLOAT or len(init.dims) != 2 or init.dims[1] < 2 or not nodes:
            continue
        if all(n.op_type == "Gather" and n.input[0] == name and n.input[1] != name
               and next((a.i for a in n.attribute if a.name == "axis"), 0) == 0 for n in nodes):
            found[name] = nodes
    return found


def quantize_tables(model) -> int:
    """Rewrite every float embedding table of `model` (an onnx ModelProto) to per-row int8, in place; returns
    how many tables were rewritten."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    tables = _tables(graph)
    if not tables:
        return 0
    inits = {i.name: i for i in graph.initializer}
    replaced: dict[int, list] = {}
    for name, nodes in tables.items():
        q, scale = quantize_rows(numpy_helper.to_array(inits[name]).astype(np.float32))
        graph.initializer.remove(inits[name])
        graph.initializer.extend([numpy_helper.from_array(q, f"{name}_rowint8"),
                                  numpy_helper.from_array(scale, f"{name}_rowscale")])
        for node in nodes:
            p, ids, out = node.name or node.output[0], node.input[1], node.output[0]
            replaced[id(node)] = [
                helper.make_node("Gather", [f"{name}_rowint8", ids], [f"{p}/rows_int8"], name=f"{p}/RowsInt8", axis=0),
                helper.make_node("Gather", [f"{name}_rowscale", ids], [f"{p}/rows_scale"], name=f"{p}/RowsScale", axis=0),
                helper.make_node("Cast", [f"{p}/rows_int8"], [f"{p}/rows_float"], name=f"{p}/RowsCast",
                                 to=TensorProto.FLOAT),
                helper.make_node("Mul", [f"{p}/rows_float", f"{p}/rows_scale"], [out], name=f"{p}/RowsDequant"),
            ]
    nodes = [new for node in graph.node for new in replaced.get(id(node), [node])]
    del graph.node[:]
    graph.node.extend(nodes)
    return len(tables)


def rewrite_file(src: Path, dst: Path) -> int:
    """Quantize the embedding tables of the model at `src` into `dst`; returns how many were rewritten."""
    import onnx

    model = onnx.load(str(src))
    count = quantize_tables(model)
    onnx.save(model, str(dst))
    return count
