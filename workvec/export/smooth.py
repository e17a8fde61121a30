"""SmoothQuant-style activation smoothing (Xiao et al. 2023) before dynamic int8 quantization.

onnxruntime's dynamic quantization gives each MatMul input one scale for the whole tensor, so a few
activation channels with large values (the outlier features of BERT-like encoders, e.g. MPNet's) flatten
every other channel to a handful of int8 steps. For each activation A that feeds weight MatMuls (A @ W), this
rewrites A @ W = (A / s) @ (s * W) with a per-input-channel s = max|A_k|^alpha / max|W_k|^(1 - alpha): one
Mul on A (shared by every MatMul it feeds, e.g. Q, K and V) and rescaled weight rows. The fp32 result is
unchanged up to rounding; the int8 one loses much less, because the outliers move into the per-channel
weights. max|A_k| is calibrated with onnxruntime on texts disjoint from the parity probes.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from workvec.errors import ExportError

ALPHA = 0.5  # the default; the int8 ladder names its own (export/bundle.py LADDER)
CALIBRATION_BATCH = 16


def calibration_texts(n: int = 384) -> list[str]:
    """Short and sentence-length texts from the embedded taxonomies that the parity gate does not use:
    ESCO alternative labels, O*NET titles, and sentences that join them as job ads would."""
    from workvec.runtime.taxonomy import load_taxonomy

    alts = [a for c in load_taxonomy("esco-skills").concepts[7::53] for a in c.alt_labels[:1]]
    titles = [c.label for c in load_taxonomy("onet").concepts[3::9]]
    sentences = [f"As a {t.lower()} you will {a} and {b}; experience with {c} is a plus."
                 for t, a, b, c in zip(titles, alts[::3], alts[1::3], alts[2::3])]
    texts = sentences + titles + alts
    return texts[:n]


def _weight_matmuls(model) -> dict[str, list]:
    """Activation tensor name -> MatMul nodes that multiply it by a constant 2-D weight."""
    weights = {init.name for init in model.graph.initializer}
    users: dict[str, list] = defaultdict(list)
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.input[1] in weights and node.input[0] not in weights:
            users[node.input[0]].append(node)
    return users


def _activation_max(model, names: list[str], feeds: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per-channel max |value| of each named tensor over the calibration batches (onnxruntime, fp32)."""
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    known = {o.name for o in probe.graph.output}
    probe.graph.output.extend(onnx.ValueInfoProto(name=n) for n in names if n not in known)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    amax: dict[str, np.ndarray] = {}
    for feed in feeds:
        for name, value in zip(names, session.run(names, feed)):
            channel_max = np.abs(value.reshape(-1, value.shape[-1])).max(axis=0)
            amax[name] = channel_max if name not in amax else np.maximum(amax[name], channel_max)
    return amax


def _feeds(model, tokenizer_file: Path, texts: list[str], pad_id: int) -> list[dict[str, np.ndarray]]:
    """Length-grouped padded batches of `texts` for the graph's declared inputs."""
    from tokenizers import Tokenizer

    from workvec.runtime.tokenizer import iter_batches, tokenize

    tokenizer = Tokenizer.from_file(str(tokenizer_file))  # as exported: padding off, truncation at the max length
    inputs = [i.name for i in model.graph.input]
    return [batch.feeds(inputs) for batch in iter_batches(tokenize(tokenizer, texts), CALIBRATION_BATCH, pad_id)]


def smooth(src: Path, dst: Path, tokenizer_file: Path, pad_id: int, alpha: float = ALPHA, only: str = "") -> int:
    """Write the smoothed fp32 copy of `src` to `dst`; returns how many activations were smoothed.
    `only`: a regex over MatMul node names; activations feeding no matching MatMul are left alone."""
    import re

    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    users = {a: nodes for a, nodes in _weight_matmuls(model).items()
             if not only or any(re.search(only, n.name) for n in nodes)}
    if not users:
        raise ExportError(f"{src.name} has no MatMul with constant weights to smooth")
    names = sorted(users)
    amax = _activation_max(model, names, _feeds(model, tokenizer_file, calibration_texts(), pad_id))
    inits = {init.name: init for init in model.graph.initializer}
    new_nodes = []
    for name in names:
        mats = {node.input[1]: numpy_helper.to_array(inits[node.input[1]]) for node in users[name]}
        if any(w.ndim != 2 for w in mats.values()):
            continue
        wmax = np.max([np.abs(w).max(axis=1) for w in mats.values()], axis=0)
        scale = np.where((amax[name] > 0) & (wmax > 0),
                         amax[name] ** alpha / np.maximum(wmax, 1e-8) ** (1 - alpha), 1.0)
        scale = np.clip(scale, 1e-2, 1e2).astype(np.float32)
        for weight_name, w in mats.items():
            inits[weight_name].CopyFrom(numpy_helper.from_array((w * scale[:, None]).astype(np.float32), weight_name))
        inv = f"{name}/smooth_inv"
        model.graph.initializer.append(numpy_helper.from_array((1.0 / scale).astype(np.float32), inv))
        new_nodes.append(helper.make_node("Mul", [name, inv], [f"{name}/smoothed"], name=f"{name}/Smooth"))
        for node in users[name]:
            node.input[0] = f"{name}/smoothed"
    _insert_after_producers(model, new_nodes)
    onnx.save(model, str(dst))
    return len(new_nodes)


def _insert_after_producers(model, new_nodes: list) -> None:
    """Insert each Mul right after the node producing its input (keeps the graph topologically sorted)."""
    by_input = {node.input[0]: node for node in new_nodes}
    ordered = [n for n in new_nodes if n.input[0] in {i.name for i in model.graph.input}]
    for node in model.graph.node:
        ordered.append(node)
        ordered.extend(by_input[out] for out in node.output if out in by_input)
    del model.graph.node[:]
    model.graph.node.extend(ordered)
