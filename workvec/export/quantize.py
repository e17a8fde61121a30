"""Dynamic int8 quantization presets (optimum's names) applied with onnxruntime.quantization."""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from workvec.errors import ExportError
from workvec.runtime.cpu import cpu_flags

__all__ = ["ACTIVATIONS", "PRESETS", "TABLES", "WEIGHTS", "QuantSpec", "auto_preset", "quantize", "weight_settings"]

PRESETS = ("auto", "avx2", "avx512", "avx512_vnni", "arm64", "none")
# QuantSpec.activations -> what the manifest records
ACTIVATIONS = {
    "per-row": "per-row QUInt8 (scale per token: symmetric max|x|/127, zero point 128; GELU outputs shifted by "
               "0.1701, max/255, zero point 0; batch-invariant)",
    "per-tensor": "QUInt8 per-tensor (DynamicQuantizeLinear over the whole batch)",
}
# QuantSpec.tables -> what the manifest records (embedding tables, when op_types has Gather)
TABLES = {
    "per-row": "QInt8 per row (symmetric, scale max|row|/127; tablequant.py)",
    "per-tensor": "QUInt8 per-tensor (onnxruntime's Gather quantization: one scale per table)",
}


@dataclass(frozen=True)
class QuantSpec:
    """One dynamic-quantization setting: what gets recorded in the manifest."""

    preset: str
    weight_type: str = "QInt8"
    per_channel: bool = True
    reduce_range: bool = False
    # Gather: the embedding tables become int8 too (all-MiniLM-L6-v2: bundle 60.5 -> 24.7 MB, session load
    # 0.21 -> 0.11 s, mean cosine on the probes 0.99402 -> 0.99379 with per-tensor tables).
    op_types: tuple[str, ...] = ("MatMul", "Gather")
    # "per-row": each table row gets its own int8 scale (tablequant.py); "per-tensor": onnxruntime's one scale per
    # table, which flattens the rows of small norm (benchmarks/README.md, int8 embedding tables)
    tables: str = "per-row"
    exclude: tuple[str, ...] = ()  # regexes over node names kept in fp32
    # SmoothQuant alpha for the activations feeding the MatMuls matched by `smooth_ops` (0: off); see smooth.py
    smooth: float = 0.0
    smooth_ops: str = ""
    # "per-row": every token row gets its own activation scale (rowquant.py; batch-invariant);
    # "per-tensor": onnxruntime's DynamicQuantizeLinear, one scale per batch (a text's vector depends on its batch)
    activations: str = "per-row"

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ExportError(f"--quantize {self.preset!r} is not one of {PRESETS}")
        if self.weight_type not in ("QInt8", "QUInt8"):
            raise ExportError(f"weight_type {self.weight_type!r} must be QInt8 or QUInt8")
        if self.activations not in ACTIVATIONS:
            raise ExportError(f"activations {self.activations!r} must be one of {sorted(ACTIVATIONS)}")
        if self.tables not in TABLES:
            raise ExportError(f"tables {self.tables!r} must be one of {sorted(TABLES)}")

    def to_json(self) -> dict[str, Any]:
        """The manifest's `quantization` record."""
        return {**asdict(self), "op_types": list(self.op_types), "exclude": list(self.exclude), "mode": "dynamic",
                "activations": ACTIVATIONS[self.activations], "tables": TABLES[self.tables]}


def auto_preset(flags: set[str] | None = None, machine: str | None = None) -> str:
    """The preset matching this CPU: arm64, avx512_vnni, avx512 or avx2."""
    machine = (machine or platform.machine()).lower()
    if machine in ("arm64", "aarch64"):
        return "arm64"
    flags = cpu_flags() if flags is None else flags
    if "avx512_vnni" in flags or "avx512vnni" in flags:
        return "avx512_vnni"
    if "avx512f" in flags:
        return "avx512"
    return "avx2"


# Weight settings per preset, tried in order. Without VNNI (avx2, avx512) onnxruntime multiplies u8
# activations by s8 weights with vpmaddubsw, whose int16 pair sums saturate: 7-bit weights
# (reduce_range) avoid that (all-mpnet-base-v2 gave mean cosine 0.12 with full-range s8 on AVX2).
# Unsigned weights take a slower, saturation-free kernel and are the fallback everywhere.
WEIGHTS = {
    "avx2": (("QInt8", True), ("QUInt8", False)),
    "avx512": (("QInt8", True), ("QUInt8", False)),
    "avx512_vnni": (("QInt8", False), ("QUInt8", False)),
    "arm64": (("QInt8", False), ("QUInt8", False)),
    "none": (),
}


def weight_settings(preset: str) -> list[QuantSpec]:
    """The (weight type, reduce_range) settings of a preset (`auto` resolved for this CPU), fastest first."""
    if preset not in PRESETS:
        raise ExportError(f"--quantize {preset!r} is not one of {PRESETS}")
    name = auto_preset() if preset == "auto" else preset
    return [QuantSpec(preset=name, weight_type=w, reduce_range=r) for w, r in WEIGHTS[name]]


def quantize(src: Path, dst: Path, spec: QuantSpec, tokenizer: Path | None = None, pad_id: int = 0) -> None:
    """Write the dynamically quantized copy of `src` to `dst` (smoothed first when `spec.smooth`, which
    calibrates with `tokenizer`)."""
    import re

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if spec.smooth:
        from workvec.export.smooth import smooth

        if tokenizer is None:
            raise ExportError("smoothing needs the bundle's tokenizer.json for calibration")
        smoothed = dst.with_name(dst.stem + ".smoothed.onnx")
        smooth(src, smoothed, tokenizer, pad_id, spec.smooth, spec.smooth_ops)
        try:
            quantize(smoothed, dst, replace(spec, smooth=0.0))
        finally:
            smoothed.unlink(missing_ok=True)
        return
    names = [n.name for n in onnx.load(str(src), load_external_data=False).graph.node]
    keep = [n for n in names if any(re.search(p, n) for p in spec.exclude)]
    own_tables = spec.tables == "per-row" and "Gather" in spec.op_types
    try:
        quantize_dynamic(
            model_input=str(src),
            model_output=str(dst),
            op_types_to_quantize=[op for op in spec.op_types if not (own_tables and op == "Gather")],
            per_channel=spec.per_channel,
            reduce_range=spec.reduce_range,
            weight_type=getattr(QuantType, spec.weight_type),
            nodes_to_exclude=keep,
            extra_options={"MatMulConstBOnly": True},
        )
    except Exception as exc:
        raise ExportError(f"onnxruntime could not quantize {src.name}: {type(exc).__name__}: {exc}") from exc
    if spec.activations == "per-row":
        from workvec.export.rowquant import rewrite_file

        rewrite_file(dst, dst)
    if own_tables:
        from workvec.export import tablequant

        tablequant.rewrite_file(dst, dst)
