"""Experiment (issue 9, batch-1 latency): fuse the exported attention into onnxruntime's `MultiHeadAttention`
before per-row int8 quantization, and compare with the bundle's own per-row int8 graph.

The fused graph comes from onnxruntime's transformer optimizer (BERT fusions, `use_multi_head_attention`:
Q/K/V projections stay separate MatMuls, so per-row quantization still applies to them; embedding fusion off,
so the embedding tables stay int8), then `quantize_dynamic` + `rowquant.rewrite_file` as `workvec export`
does. Measured on one thread, interleaved round-robin: titles/s at batch 64, sentences/s at batch 32 (input
order, no length sorting), batch-1 p50, cosine to the bundle's fp32 graph, and batch invariance (a title alone
vs inside 7 SkillSpan sentences).

    python benchmarks/speed/attention_fusion.py --bundle TITLE_BUNDLE_WITH_model.onnx [--reps 5]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared _common helpers
from _common import SHARED_DATA, machine_info, markdown_table, write_json, write_text

OUT = Path(__file__).resolve().parents[1] / "results" / "attention_fusion"


def fuse_and_quantize(fp32: Path, dst: Path, heads: int, hidden: int) -> dict:
    """The MultiHeadAttention-fused, per-row int8 copy of `fp32` at `dst`; op counts of the result."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    from workvec.export.rowquant import rewrite_file

    options = FusionOptions("bert")
    options.enable_embed_layer_norm, options.use_multi_head_attention = False, True
    fused = dst.with_suffix(".fp32.onnx")
    optimize_model(str(fp32), model_type="bert", num_heads=heads, hidden_size=hidden, optimization_options=options,
                   opt_level=0).save_model_to_file(str(fused))
    quantize_dynamic(model_input=str(fused), model_output=str(dst), op_types_to_quantize=["MatMul", "Gather"],
                     per_channel=True, reduce_range=True, weight_type=QuantType.QInt8,
                     extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT})
    rewrite_file(dst, dst)
    ops: dict[str, int] = {}
    for node in onnx.load(str(dst)).graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    return ops


class Graph:
    """One onnxruntime session (1 thread) with the bundle's tokenizer."""

    def __init__(self, path: Path, tokenizer: Path) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        o = ort.SessionOptions()
        o.intra_op_num_threads, o.inter_op_num_threads, o.log_severity_level = 1, 1, 3
        self.session = ort.InferenceSession(str(path), o, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.tok = Tokenizer.from_file(str(tokenizer))
        self.tok.no_padding()

    def __call__(self, texts: list[str]) -> np.ndarray:
        enc = [self.tok.encode(t).ids for t in texts]
        ids = np.zeros((len(enc), max(map(len, enc))), np.int64)
        mask = np.zeros_like(ids)
        for i, e in enumerate(enc):
            ids[i, :len(e)], mask[i, :len(e)] = e, 1
        feed = {n: ids if n == "input_ids" else mask if n == "attention_mask" else np.zeros_like(ids) for n in self.inputs}
        return self.session.run(["sentence_embedding"], feed)[0]


def measure(graphs: dict[str, Graph], titles: list[str], sentences: list[str], reps: int) -> dict:
    ref = graphs["fp32"]
    out = {name: {"titles_s": [], "sentences_s": [], "b1_ms": []} for name in graphs}
    for _ in range(reps):
        for name, g in graphs.items():
            t0 = time.perf_counter()
            for i in range(0, 1024, 64):
                g(titles[i:i + 64])
            out[name]["titles_s"].append(1024 / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            for i in range(0, 256, 32):
                g(sentences[i:i + 32])
            out[name]["sentences_s"].append(256 / (time.perf_counter() - t0))
            lat = []
            for t in titles[2000:2150]:
                t0 = time.perf_counter()
                g([t])
                lat.append(time.perf_counter() - t0)
            out[name]["b1_ms"].append(float(np.median(lat)) * 1e3)
    want = np.concatenate([ref(titles[i:i + 64]) for i in range(0, 512, 64)])
    for name, g in graphs.items():
        got = np.concatenate([g(titles[i:i + 64]) for i in range(0, 512, 64)])
        cos = (got * want).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
        alone = np.concatenate([g([t]) for t in titles[:40]])
        mixed = np.concatenate([g([t] + sentences[i:i + 7])[:1] for i, t in enumerate(titles[:40])])
        out[name] = {k: float(np.median(v)) for k, v in out[name].items()} | {
            "mean_cos": float(cos.mean()), "min_cos": float(cos.min()),
            "invariance_min_cos": float(((alone * mixed).sum(1) / np.linalg.norm(alone, axis=1)
                                         / np.linalg.norm(mixed, axis=1)).min()),
            "invariance_max_abs": float(np.abs(alone - mixed).max())}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, required=True, help="title bundle with model.onnx and model.int8.onnx")
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--hidden", type=int, default=384)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    with open(SHARED_DATA / "bench/jobbert/titles.validation.csv", encoding="utf-8") as fh:
        titles = [r["vacancyTitle"] for r in csv.DictReader(fh)]
    random.Random(0).shuffle(titles)
    with open(SHARED_DATA / "corpus/skillspan/json/dev.json", encoding="utf-8") as fh:
        sentences = [" ".join(json.loads(line)["tokens"]) for line in fh][:256]
    with tempfile.TemporaryDirectory() as tmp:
        fused = Path(tmp) / "mha.int8.onnx"
        ops = fuse_and_quantize(a.bundle / "model.onnx", fused, a.heads, a.hidden)
        tok = a.bundle / "tokenizer.json"
        graphs = {"fp32": Graph(a.bundle / "model.onnx", tok), "per-row int8 (export)": Graph(a.bundle / "model.int8.onnx", tok),
                  "per-row int8, MultiHeadAttention": Graph(fused, tok)}
        found = measure(graphs, titles, sentences, a.reps)
    rows = [[name, f"{r['titles_s']:.0f}", f"{r['sentences_s']:.1f}", f"{r['b1_ms']:.2f}", f"{r['mean_cos']:.5f}",
             f"{r['min_cos']:.5f}", f"{r['invariance_min_cos']:.9f} / {r['invariance_max_abs']:.1e}"] for name, r in found.items()]
    table = markdown_table(["graph", "titles/s b64", "sentences/s b32", "batch-1 p50 ms", "mean cos vs fp32", "min cos",
                            "alone vs batch: min cos / max abs"], rows)
    machine = machine_info(("onnxruntime",))
    write_json(a.out / "attention_fusion.json", {"machine": machine, "fused_ops": ops, "results": found})
    write_text(a.out / "attention_fusion.md", f"{table}\nFused int8 graph: {sum(ops.values())} nodes; {ops}\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
