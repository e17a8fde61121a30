"""Where batched int8 encoding spends its time: onnxruntime's kernel time per op type (issue 9).

For each bundle: ESCO occupation titles at batch 64 and SkillSpan sentences at batch 32 (the texts and batch
sizes of `encode_speed.py`), encoded through `workvec.Encoder` (1 thread) with onnxruntime's profiler on;
reports kernel ms per batch by op type, the fp32 `MatMul` share beside the int8 GEMMs
(`MatMulIntegerToFloat`, `DynamicQuantizeMatMul`, `MatMulInteger`) and the per-row quantization ops.

    python benchmarks/speed/profile_batched.py --bundle DIR [--bundle DIR ...] [--titles 512] [--sentences 128]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared _common helpers
import _speed_assets as assets
from _common import RESULTS, log, machine_info, markdown_table, write_json, write_text
from _ort_profile import kernel_profile, profile_encoder

INT8_GEMMS = ("MatMulIntegerToFloat", "DynamicQuantizeMatMul", "MatMulInteger")
QUANT_OPS = ("Abs", "ReduceMax", "Max", "Div", "QuantizeLinear", "DynamicQuantizeLinear")


def profile(bundle: Path, texts: list[str], batch: int) -> dict[str, Any]:
    """Kernel ms per batch by op type for `texts` encoded at `batch` by the bundle's int8 graph."""
    from workvec.runtime.encoder import Encoder

    encoder = Encoder.open(bundle, precision="int8", providers="cpu", threads=1)
    with tempfile.TemporaryDirectory(prefix="profile-batched-") as tmp:
        profile_encoder(encoder, str(Path(tmp) / "ort"))
        encoder.encode(texts, batch_size=batch)
        found = kernel_profile(encoder)
    runs = len(found["runs_ms"])
    kernel = Counter({op: ms / runs for op, ms in found["kernel_ms"].items()})
    total = sum(kernel.values())
    return {"batch": batch, "texts": len(texts), "runs": runs, "kernel_ms_per_batch": total,
            "int8_gemm_share": sum(kernel[o] for o in INT8_GEMMS) / total,
            "fp32_matmul_share": kernel["MatMul"] / total,
            "quantization_share": sum(kernel[o] for o in QUANT_OPS) / total,
            "ops": [{"op": op, "ms_per_batch": ms, "share": ms / total} for op, ms in kernel.most_common(12)]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", action="append", type=Path, required=True, help="bundle(s) with an int8 graph")
    ap.add_argument("--titles", type=int, default=512)
    ap.add_argument("--sentences", type=int, default=128)
    ap.add_argument("--out", type=Path, default=RESULTS / "profile_batched")
    a = ap.parse_args()
    titles, sentences = list(assets.titles(a.titles).texts), list(assets.sentences(a.sentences).texts)
    found: dict[str, Any] = {}
    rows = []
    for bundle in a.bundle:
        log(f"{bundle}: profiling titles at batch 64 and sentences at batch 32 ...")
        found[str(bundle)] = {"titles": profile(bundle, titles, 64), "sentences": profile(bundle, sentences, 32)}
        for kind, p in found[str(bundle)].items():
            rows.append([bundle.name, f"{kind} (batch {p['batch']})", f"{p['kernel_ms_per_batch']:.1f}",
                         f"{p['int8_gemm_share']:.1%}", f"{p['fp32_matmul_share']:.1%}", f"{p['quantization_share']:.1%}",
                         ", ".join(f"{o['op']} {o['share']:.0%}" for o in p["ops"][:5])])
    table = markdown_table(["bundle", "texts", "kernel ms per batch", "int8 GEMMs", "fp32 MatMul",
                            "activation quantization", "top ops"], rows)
    write_json(a.out / "profile_batched.json", {"machine": machine_info(("onnxruntime", "workvec")), **found})
    write_text(a.out / "profile_batched.md", table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
