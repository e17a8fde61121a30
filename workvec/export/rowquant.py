"""Per-row (per-token) dynamic activation quantization: a graph rewrite after `quantize_dynamic`.

onnxruntime's dynamic quantization gives every MatMul input one scale for the whole tensor
(`DynamicQuantizeLinear`), computed over the whole batch, padding rows included, so a text's vector depends on
its batch. This rewrite replaces each `DynamicQuantizeLinear` that feeds `MatMulInteger` by a subgraph that
gives every row (token) its own scale, computed from that row alone:

    s = max(max|x| over the row, EPS) / 127          ([..., rows, 1])
    q = QuantizeLinear(x / s, 1, 128)                 (uint8, symmetric around the constant zero point 128)

GELU outputs (the FFN down-projections' inputs) are >= -0.17, so the symmetric form would leave half of the
uint8 range nearly unused. They are shifted instead, which gives them one bit more at no runtime cost:

    x' = x + GELU_SHIFT >= 0,  s = max(max x' over the row, EPS) / 255,  q = QuantizeLinear(x' / s, 1, 0)

and the consumer's bias absorbs the shift exactly: (x + c) @ W + b' = x @ W + b with b' = b - c * colsum(W),
W the dequantized int8 weight (the bias `Add` that follows the MatMul is rewritten; a GELU output whose
consumers have no constant bias keeps the symmetric form). With 7-bit weights (`reduce_range`, AVX2 without
VNNI) any uint8 activation times a weight stays exact in vpmaddubsw's int16 pair sums (2 x 255 x 64 < 32767).

The zero point stays a scalar (onnxruntime's CPU `MatMulInteger` and `MatMulIntegerToFloat` accept nothing
else, so a per-row asymmetric form would need an extra correction op per MatMul). Each consumer's output chain
`Mul(Cast(MatMulInteger), Mul(a_scale, b_scale))` becomes onnxruntime's
`MatMulIntegerToFloat(q, W, s, b_scale, zero point, b_zp)`, whose CPU kernel applies the per-column weight
scales inside the GEMM and a [..., M, 1] A scale after it. onnxruntime's own fusion of the old chain would also
fold the following bias `Add` into that kernel and then multiply the bias by the row scale (measured: cosine
0.68 instead of 0.996), so the rewrite writes the kernel itself and leaves the bias `Add` outside. Integer
GEMMs are exact, so every output row depends on its own input row only: padding rows and neighbours cannot
change it. `fused=False` writes standard ONNX ops instead (slower; for runtimes without onnxruntime's contrib
ops).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workvec.errors import ExportError

__all__ = ["rewrite", "rewrite_file", "rowquant_nodes"]

EPS = 1e-12  # smallest max|x| a row may have (an all-zero row would otherwise divide 0 by 0)
MS_DOMAIN = "com.microsoft"
CONSTS = {"eps": "rowquant/eps", "inv127": "rowquant/inv127", "one": "rowquant/one", "zp": "rowquant/zp128",
          "inv255": "rowquant/inv255", "shift": "rowquant/gelu_shift", "zp0": "rowquant/zp0"}
# GELU's minimum: x * Phi(x) >= -0.16997 (erf form), 0.5x(1 + tanh(...)) >= -0.17004 (tanh form)
GELU_SHIFT = 0.1701


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


def _gelu_output(name: str, producers: dict) -> bool:
    """Whether tensor `name` is a GELU's output: a fused Gelu / FastGelu, or the Mul that ends the exported
    `x * 0.5 * (1 + erf(x / sqrt 2))` (or tanh) formula (an Erf / Tanh within its last four producers)."""
    node = producers.get(name)
    if node is None:
        return False
    if node.op_type in ("Gelu", "FastGelu", "BiasGelu"):
        return True
    if node.op_type != "Mul":
        return False
    frontier = [node]
    for _ in range(4):
        frontier = [producers[i] for n in frontier for i in n.input if i in producers]
        if any(n.op_type in ("Erf", "Tanh") for n in frontier):
            return True
    return False


def _quantize_shifted(node) -> list:
    """Nodes computing `node`'s (q, scale) for a GELU output x >= -GELU_SHIFT: x + GELU_SHIFT >= 0 is quantized
    on the full uint8 range with zero point 0 (s = max(x + shift) / 255 per row), one bit more than the
    symmetric form gives; the consumers' bias absorbs the shift (_shift_bias)."""
    from onnx import helper

    x, (q, scale, _zp) = node.input[0], node.output
    p = node.name or q
    return [
        helper.make_node("Add", [x, CONSTS["shift"]], [f"{p}/shifted"], name=f"{p}/RowShift"),
        helper.make_node("ReduceMax", [f"{p}/shifted"], [f"{p}/amax"], name=f"{p}/RowMax", axes=[-1], keepdims=1),
        helper.make_node("Max", [f"{p}/amax", CONSTS["eps"]], [f"{p}/amax_safe"], name=f"{p}/RowGuard"),
        helper.make_node("Mul", [f"{p}/amax_safe", CONSTS["inv255"]], [scale], name=f"{p}/RowScale"),
        helper.make_node("Div", [f"{p}/shifted", scale], [f"{p}/scaled"], name=f"{p}/RowDiv"),
        helper.make_node("QuantizeLinear", [f"{p}/scaled", CONSTS["one"], CONSTS["zp0"]], [q], name=f"{p}/RowQuant"),
    ]


def _shift_bias(users, producers, inits: dict, weight: str, w_scale: str, w_zp: str, out: str):
    """For a MatMul `out` = (x + GELU_SHIFT) @ W: (its bias Add, the bias name, a new bias initializer equal
    to bias - GELU_SHIFT * colsum(dequantized W)), so that the Add gives x @ W + bias again; None when `out`
    does not feed exactly one Add of a constant [N] bias (an initializer, or an Identity of one: torch's
    exporter shares equal tensors that way)."""
    from onnx import numpy_helper

    adds = users.get(out, [])
    if len(adds) != 1 or adds[0].op_type != "Add":
        return None
    bias = next((i for i in adds[0].input if i != out), None)
    source = bias
    while source in producers and producers[source].op_type == "Identity":
        source = producers[source].input[0]
    if any(name not in inits for name in (source, weight, w_scale) + ((w_zp,) if w_zp else ())):
        return None
    w = numpy_helper.to_array(inits[weight]).astype(np.float64)
    b = numpy_helper.to_array(inits[source])
    if w.ndim != 2 or b.shape != (w.shape[1],):
        return None
    zp = numpy_helper.to_array(inits[w_zp]).astype(np.float64) if w_zp else 0.0
    w_deq = (w - zp) * numpy_helper.to_array(inits[w_scale]).astype(np.float64)
    shifted = (b.astype(np.float64) - GELU_SHIFT * w_deq.sum(axis=0)).astype(np.float32)
    return adds[0], bias, numpy_helper.from_array(shifted, f"{bias}/rowquant_shifted")


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


def _output_chain(mmi, users, producers, row_scale: str, fused: bool, a_zp: str) -> tuple[list, set[str], str]:
    """Replacement for `MatMulInteger -> Cast -> Mul(., Mul(a_scale, b_scale))`, the names of the nodes it
    replaces, and b_scale's name. `a_zp`: the name of the activations' (constant) zero point."""
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
                                                           a_zp, w_zp], [out], name=f"{p}/ToFloat",
                                  domain=MS_DOMAIN)]
    else:
        nodes = [helper.make_node("MatMulInteger", [mmi.input[0], mmi.input[1], a_zp, w_zp], [f"{p}/int"],
                                  name=p),
                 helper.make_node("Cast", [f"{p}/int"], [f"{p}/cast"], name=f"{p}/Cast", to=TensorProto.FLOAT),
                 helper.make_node("Mul", [f"{p}/cast", b_scale], [f"{p}/col"], name=f"{p}/ColScale"),
                 helper.make_node("Mul", [f"{p}/col", row_scale], [out], name=f"{p}/RowScaleOut")]
    return nodes, {mmi.name, cast.name, out_mul.name, scales.name}, b_scale


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
    inits = {init.name: init for init in graph.initializer}
    replaced: dict[str, list] = {}  # node name -> nodes emitted in its place ([] drops it)
    for dql in targets:
        if not dql.name:
            raise ExportError(f"{dql.output[0]}: unnamed quantization nodes; cannot rewrite them")
        mmis = users[dql.output[0]]
        for shift in (True, False) if _gelu_output(dql.input[0], producers) else (False,):
            chains = [_output_chain(mmi, users, producers, dql.output[1], fused, CONSTS["zp0" if shift else "zp"])
                      for mmi in mmis]
            fixes = [_shift_bias(users, producers, inits, mmi.input[1], b_scale,
                                 mmi.input[3] if len(mmi.input) > 3 else "", chain[-1].output[0])
                     for mmi, (chain, _, b_scale) in zip(mmis, chains)] if shift else []
            if all(fixes):  # else no shift: a consumer without a constant bias to absorb it
                break
        for add, bias, shifted in fixes:
            if bias in inits and len(users[bias]) == 1:  # the bias Add's own constant: changed in place
                shifted.name = bias
                inits[bias].CopyFrom(shifted)
            else:
                graph.initializer.append(shifted)
                add.input[list(add.input).index(bias)] = shifted.name
        replaced[dql.name] = _quantize_shifted(dql) if fixes else _quantize_rows(dql)
        for mmi, (chain, old, _) in zip(mmis, chains):
            if not all(old):
                raise ExportError(f"{mmi.name or mmi.output[0]}: unnamed quantization nodes; cannot rewrite them")
            replaced.update({name: [] for name in old})
            replaced[mmi.name] = chain  # in the MatMulInteger's place: its inputs are ready there
    consts = [
        helper.make_tensor(CONSTS["eps"], TensorProto.FLOAT, [], [EPS]),
        helper.make_tensor(CONSTS["inv127"], TensorProto.FLOAT, [], [np.float32(1.0 / 127.0)]),
        helper.make_tensor(CONSTS["inv255"], TensorProto.FLOAT, [], [np.float32(1.0 / 255.0)]),
        helper.make_tensor(CONSTS["shift"], TensorProto.FLOAT, [], [np.float32(GELU_SHIFT)]),
        helper.make_tensor(CONSTS["one"], TensorProto.FLOAT, [], [1.0]),
        helper.make_tensor(CONSTS["zp"], TensorProto.UINT8, [], [128]),
        helper.make_tensor(CONSTS["zp0"], TensorProto.UINT8, [], [0]),
    ]
    used = {name for new in replaced.values() for node in new for name in node.input}
    graph.initializer.extend(c for c in consts if c.name in used)
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
