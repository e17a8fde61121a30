"""onnxruntime's `MatMulNBits` (8-bit block-wise weights, int8 compute: accuracy_level 4) against workvec's per-row
int8, on the MiniLM title bundle's own fp32 graph: fidelity vs fp32, batch invariance and speed (issue 9's
"row-local activation quantization" candidate). Every constant-weight MatMul becomes MatMulNBits; the packing is
onnxruntime's own `quantize_matmul_8bits` (its `MatMulNBitsQuantizer` needs `onnx_ir`, not installed here).

    python benchmarks/speed/matmulnbits.py [--blocks 32,128] [--reps 3]

1 intra-op thread, process CPU time, variants interleaved, medians; 1,024 ESCO occupation labels at batch 64,
256 SkillSpan sentences at batch 32, batch-1 over 200 labels. Writes results/matmulnbits/matmulnbits.{json,md}.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]
import _speed_assets as assets
from _common import CACHE, RESULTS, machine_info, markdown_table, write_json, write_text

from workvec.runtime.encoder import Encoder
from workvec.runtime.manifest import MANIFEST_NAME, file_record


def to_nbits(src: Path, dst: Path, block: int) -> int:
    """Write `src` with every 2-D constant-weight MatMul as MatMulNBits (8-bit, symmetric); returns how many."""
    import onnx
    from onnx import helper, numpy_helper
    from onnxruntime.capi._pybind_state import quantize_matmul_8bits

    model = onnx.load(src)
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    nodes, count = [], 0
    for node in graph.node:
        w = inits.get(node.input[1]) if node.op_type == "MatMul" else None
        if w is None or len(w.dims) != 2:
            nodes.append(node)
            continue
        weight = numpy_helper.to_array(w).astype(np.float32)
        k, n = weight.shape
        blocks = -(-k // block)
        padded = np.ascontiguousarray(np.pad(weight, ((0, blocks * block - k), (0, 0))))
        packed = np.zeros((n, blocks, block), np.uint8)
        scales, zero = np.zeros((n, blocks), np.float32), np.zeros((n, blocks), np.uint8)
        quantize_matmul_8bits(packed, padded, scales, zero, block, n, k, True)
        graph.initializer.extend([numpy_helper.from_array(packed, w.name + "_nb"),
                                  numpy_helper.from_array(scales.reshape(-1), w.name + "_nbs")])
        nodes.append(helper.make_node("MatMulNBits", [node.input[0], w.name + "_nb", w.name + "_nbs"], list(node.output),
                                      domain="com.microsoft", K=k, N=n, bits=8, block_size=block, accuracy_level=4))
        count += 1
    graph.ClearField("node")
    graph.node.extend(nodes)
    used = {i for node in graph.node for i in node.input}
    kept = [i for i in graph.initializer if i.name in used]
    graph.ClearField("initializer")
    graph.initializer.extend(kept)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, dst)
    return count


def nbits_bundle(bundle: Path, block: int) -> Path:
    """A copy of `bundle` whose int8 file is the MatMulNBits graph (manifest record updated)."""
    import json

    out = CACHE / "bundles" / f"{bundle.name}-nbits{block}"
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(bundle, out)
    to_nbits(bundle / "model.onnx", out / "model.int8.onnx", block)
    manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["files"]["model.int8.onnx"] = file_record(out / "model.int8.onnx")
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", default="32,128")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args(argv)
    found, why = assets.prepare("minilm", assets.quant_preset(), ())
    if found is None:
        raise SystemExit(f"minilm unavailable: {why}")
    bundle = found.bundle
    titles, sents = list(assets.titles(1024).texts), list(assets.sentences(256).texts)
    opened = {"per-row int8": (bundle, "int8"), "fp32": (bundle, "fp32")}
    opened.update({f"MatMulNBits 8-bit, block {b}": (nbits_bundle(bundle, int(b)), "int8")
                   for b in args.blocks.split(",")})
    enc = {k: Encoder.open(d, precision=p, providers="cpu", threads=1) for k, (d, p) in opened.items()}
    ref_t, ref_s = enc["fp32"].encode(titles, batch_size=64), enc["fp32"].encode(sents, batch_size=32)
    rows = {}
    for name, e in enc.items():
        ct = (_unit(e.encode(titles, batch_size=64)) * _unit(ref_t)).sum(1)
        cs = (_unit(e.encode(sents, batch_size=32)) * _unit(ref_s)).sum(1)
        alone = np.stack([e.encode([t])[0] for t in sents[:32]])
        mixed = e.encode(sents[:32] + titles[:32], batch_size=64)[:32]
        rows[name] = {"cos_mean": float(np.r_[ct, cs].mean()), "cos_min": float(np.r_[ct, cs].min()),
                      "invariance_max_abs": float(np.abs(alone - mixed).max()), "titles": [], "sentences": [], "b1_ms": []}
    for _ in range(args.reps):
        for name, e in enc.items():
            for key, texts, batch in (("titles", titles, 64), ("sentences", sents, 32)):
                start = time.process_time()
                e.encode(texts, batch_size=batch)
                rows[name][key].append(len(texts) / (time.process_time() - start))
            lat = []
            for t in titles[:200]:
                start = time.process_time()
                e.encode([t])
                lat.append(time.process_time() - start)
            rows[name]["b1_ms"].append(1000 * float(np.median(lat)))
    base = {k: float(np.median(rows["per-row int8"][k])) for k in ("titles", "sentences")}
    table = [[name, f"{r['cos_mean']:.5f}", f"{r['cos_min']:.5f}", f"{r['invariance_max_abs']:.1e}",
              f"{np.median(r['titles']):.0f}", f"{np.median(r['sentences']):.1f}", f"{np.median(r['b1_ms']):.2f}",
              f"{np.median(r['titles']) / base['titles']:.2f}x / {np.median(r['sentences']) / base['sentences']:.2f}x"]
             for name, r in rows.items()]
    md = markdown_table(["graph", "cos vs fp32 mean", "min", "alone vs batched max abs", "titles/s b64",
                         "sentences/s b32", "batch-1 ms", "vs per-row int8"], table)
    out = RESULTS / "matmulnbits"
    write_json(out / "matmulnbits.json", {"machine": machine_info(("onnxruntime", "workvec")), "rows": rows})
    write_text(out / "matmulnbits.md", f"## MatMulNBits vs per-row int8 (`benchmarks/speed/matmulnbits.py`)\n\n{md}\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
