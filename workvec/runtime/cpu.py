"""What this CPU can run: its feature flags, and whether an int8 graph's weights give the right numbers on it."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from typing import Any

__all__ = ["cpu_flags", "full_range_s8", "int8_weight_problem"]

VNNI_FLAGS = ("avx512_vnni", "avx512vnni", "avx_vnni")


def cpu_flags() -> set[str]:
    """This CPU's feature flags (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def full_range_s8(quantization: Mapping[str, Any]) -> bool:
    """Whether int8 weights quantized as `quantization` (the manifest's record) use the full s8 range."""
    return quantization.get("weight_type") == "QInt8" and not quantization.get("reduce_range", True)


def int8_weight_problem(quantization: Mapping[str, Any], *, flags: set[str] | None = None,
                        machine: str | None = None) -> str | None:
    """Why an int8 graph quantized as `quantization` (the manifest's record) would give wrong vectors on this CPU,
    or None. Full-range s8 weights (the avx512_vnni and arm64 presets) need VNNI on x86: without it onnxruntime
    multiplies u8 activations by s8 weights with vpmaddubsw, whose int16 pair sums saturate (all-mpnet-base-v2:
    mean cosine 0.12). Unknown flags (not Linux) are given the benefit of the doubt."""
    if not full_range_s8(quantization):
        return None
    machine = (machine or platform.machine()).lower()
    if machine not in ("x86_64", "amd64", "i386", "i686"):
        return None
    flags = cpu_flags() if flags is None else flags
    if not flags or any(f in flags for f in VNNI_FLAGS):
        return None
    return (f"its int8 weights are full-range s8 (exported with the {quantization.get('preset')} preset), which this"
            " CPU (x86 without VNNI) multiplies with saturating int16 sums")
