"""Per-row (per-token) dynamic activation quantization: a graph rewrite after `quantize_dynamic`.

onnxruntime's dynamic quantization gives every MatMul input one scale for the whole tensor
(`DynamicQuantizeLinear`), computed over the whole batch, padding rows included, so a text's vector depends on
its batch. This rewrite replaces each `DynamicQuantizeLinear` that feeds `MatMulInteger` by a subgraph that
gives every row (token) its own scale, computed from that row alone:

    s = max(max|x| over the row, EPS) / 127          ([..., rows, 1])
    q = QuantizeLinear(x / s, 1, 128)                 (uint8, symmetric around the constant zero point 128)

The zero point stays a scalar (onnxruntime's CPU `MatMulInteger` accepts nothing else). Each consumer's
output chain `Mul(Cast(MatMulInteger), Mul(a_scale, b_scale))` becomes onnxruntime's
`MatMulIntegerToFloat(q, W, s, b_scale, 128, b_zp)`, whose CPU kernel applies the per-column weight scales
inside the GEMM and a [..., M, 1] A scale after it. onnxruntime's own fusion of the old chain would also fold
the following bias `Add` into that kernel and then multiply the bias by the row scale (measured: cosine 0.68
instead of 0.996), so the rewrite writes the kernel itself and leaves the bias `Add` outside. Integer GEMMs
are exact, so every output row depends on its own input row only: padding rows and neighbours cannot change
it. `fused=False` writes standard ONNX ops instead (slower; for runtimes without onnxruntime's contrib ops).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workvec.errors import ExportError

__all__ = ["rewrite", "rewrite_file", "rowquant_nodes"]

EPS = 1e-12  # smallest max|x| a row may have (an all-zero row would otherwise divide 0 by 0)
MS_DOMAIN = "com.microsoft"
CONSTS = {"eps": "rowquant/eps", "inv127": "rowquant/inv127", "one": "rowquant/one", "zp": "rowquant/zp128"}


def _consumers(graph) -> dict[str, list]:
    users: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    return users


def rowquant_nodes(graph) -> list:
    """The `DynamicQuantizeLinear` nodes whose quantized output feeds only `MatMulInteger` nodes."""
    users = _consumers(graph)
    found = []
    for node in graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            continue
        q_users = users.get(node.output[0], [])
        if q_users and all(u.op_type == "MatMulInteger" and u.input[0] == node.output[0] for u in q_users):
            found.append(node)
    return found


def _quantize_rows(node) -> list:
    """Nodes computing `node`'s (q, scale) outputs per row; its zero point becomes the constant 128."""
    from onnx import helper

    x, (q, scale, _zp) = node.input[0], node.output
    p = node.name or q
    return [
        helper.make_node("Abs", [x], [f"{p}/abs"], name=f"{p}/RowAbs"),
        helper.make_node("ReduceMax", [f"{p}/abs"], [f"{p}/amax"], name=f"{p}/RowMax", axes=[-1], keepdims=1),
        helper.make_node("Max", [f"{p}/amax", CONSTS["eps"]], [f"{p}/amax_safe"], name=f"{p}/RowGuard"),
        helper.make_node("Mul", [f"{p}/amax_safe", CONSTS["inv127"]], [scale], name=f"{p}/RowScale"),
        helper.make_node("Div", [x, scale], [f"{p}/scaled"], name=f"{p}/RowDiv"),
        helper.make_node("QuantizeLinear", [f"{p}/scaled", CONSTS["one"], CONSTS["zp"]], [q], name=f"{p}/RowQuant"),
    ]


def _output_chain(mmi, users, producers, row_scale: str, fused: bool) -> tuple[list, set[str]]:
    """Replacement for `MatMulInteger -> Cast -> Mul(., Mul(a_scale, b_scale))`, and the names of the nodes
    it replaces."""
    from onnx import TensorProto, helper

    cast = _only(users, mmi.output[0], "Cast")
    out_mul = _only(users, cast.output[0], "Mul")
    scales = producers.get(next(i for i in out_mul.input if i != cast.output[0]))
    if scales is None or scales.op_type != "Mul" or row_scale not in scales.input:
        raise ExportError(f"{mmi.name}: unexpected quantized MatMul output chain; cannot quantize it per row")
    b_scale = next(i for i in scales.input if i != row_scale)
    w_zp = mmi.input[3] if len(mmi.input) > 3 else ""
    p, out = mmi.name, out_mul.output[0]
    if fused:  # the kernel scales its [..., M, N] output by a [..., M, 1] A scale after the GEMM
        nodes = [helper.make_node("MatMulIntegerToFloat", [mmi.input[0], mmi.input[1], row_scale, b_scale,
                                                           CONSTS["zp"], w_zp], [out], name=f"{p}/ToFloat",
                                  domain=MS_DOMAIN)]
    else:
        nodes = [helper.make_node("MatMulInteger", [mmi.input[0], mmi.input[1], CONSTS["zp"], w_zp], [f"{p}/int"],
                                  name=p),
                 helper.make_node("Cast", [f"{p}/int"], [f"{p}/cast"], name=f"{p}/Cast", to=TensorProto.FLOAT),
                 helper.make_node("Mul", [f"{p}/cast", b_scale], [f"{p}/col"], name=f"{p}/ColScale"),
                 helper.make_node("Mul", [f"{p}/col", row_scale], [out], name=f"{p}/RowScaleOut")]
    return nodes, {mmi.name, cast.name, out_mul.name, scales.name}


def _only(users, name: str, op_type: str):
    found = users.get(name, [])
    if len(found) != 1 or found[0].op_type != op_type:
        raise ExportError(f"{name}: expected one {op_type} consumer; cannot quantize it per row")
    return found[0]


def rewrite(model, fused: bool = True) -> int:
    """Rewrite `model` (an onnx ModelProto from `quantize_dynamic`) in place; returns how many activations
    now quantize per row. `fused`: write onnxruntime's MatMulIntegerToFloat (else standard ops only)."""
    from onnx import TensorProto, helper

    graph = model.graph
    targets = rowquant_nodes(graph)
    if not targets:
        return 0
    users = _consumers(graph)
    producers = {o: n for n in graph.node for o in n.output}
    replaced: dict[str, list] = {}  # node name -> nodes emitted in its place ([] drops it)
    for dql in targets:
        replaced[dql.name] = _quantize_rows(dql)
        for mmi in users[dql.output[0]]:
            chain, old = _output_chain(mmi, users, producers, dql.output[1], fused)
            if not all(old) or not dql.name:
                raise ExportError(f"{mmi.name or mmi.output[0]}: unnamed quantization nodes; cannot rewrite them")
            replaced.update({name: [] for name in old})
            replaced[mmi.name] = chain  # in the MatMulInteger's place: its inputs are ready there
    graph.initializer.extend([
        helper.make_tensor(CONSTS["eps"], TensorProto.FLOAT, [], [EPS]),
        helper.make_tensor(CONSTS["inv127"], TensorProto.FLOAT, [], [np.float32(1.0 / 127.0)]),
        helper.make_tensor(CONSTS["one"], TensorProto.FLOAT, [], [1.0]),
        helper.make_tensor(CONSTS["zp"], TensorProto.UINT8, [], [128]),
    ])
    nodes = [new for node in graph.node for new in (replaced.get(node.name, [node]) if node.name else [node])]
    del graph.node[:]
    graph.node.extend(nodes)
    if fused and not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    return len(targets)


def rewrite_file(src: Path, dst: Path, fused: bool = True) -> int:
    """Rewrite the quantized model at `src` into `dst`; fails when nothing was rewritten."""
    import onnx

    model = onnx.load(str(src))
    count = rewrite(model, fused)
    if not count:
        raise ExportError(f"{src.name} has no DynamicQuantizeLinear feeding MatMulInteger to quantize per row")
    onnx.save(model, str(dst))
    return count
