"""onnxruntime session creation and execution-provider resolution (the one place that does it)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import onnxruntime as ort

from workvec.errors import ProviderError

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
# The order "auto" tries; Azure and friends are never picked implicitly.
AUTO_ORDER = (CUDA, CPU)


def default_threads() -> int:
    """Intra-op threads when none are given.

    One thread on machines with two cores or fewer: measured on a shared 2-core server, 2 threads gave 0.48x
    the int8 title throughput of 1 (benchmarks/README.md). Elsewhere all usable cores, at most 8.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        cores = os.cpu_count() or 1
    return 1 if cores <= 2 else min(cores, 8)


def resolve_providers(providers: str | Sequence[str]) -> list[str]:
    """Turn "auto", "cpu", "cuda" or an explicit list into installed provider names."""
    available = ort.get_available_providers()
    if isinstance(providers, str):
        alias = {"auto": None, "cpu": [CPU], "cuda": [CUDA, CPU]}
        if providers.lower() not in alias:
            raise ProviderError(f"unknown provider setting {providers!r}; use 'auto', 'cpu', 'cuda' or a list of: {available}")
        chosen = alias[providers.lower()]
        if chosen is None:
            return [p for p in AUTO_ORDER if p in available]
        providers = chosen
    providers = list(providers)
    missing = [p for p in providers if p not in available]
    if missing:
        hint = " (install onnxruntime-gpu in place of onnxruntime: pip install 'workvec[gpu]')" if CUDA in missing else ""
        raise ProviderError(f"execution provider(s) {missing} are not installed; available: {available}{hint}")
    return providers


def create_session(
    model: Path, providers: list[str], threads: int | None = None, save_to: Path | None = None
) -> ort.InferenceSession:
    """An InferenceSession with explicit threads, full graph optimisation and a fallback warning.

    `save_to`: also write the optimised graph there (optimised at ORT_ENABLE_EXTENDED, which leaves no
    hardware-specific layouts in it; for these transformer graphs it runs as fast as ORT_ENABLE_ALL).
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if save_to is not None:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(save_to)
    options.log_severity_level = 3
    session = ort.InferenceSession(str(model), sess_options=options, providers=providers)
    active = session.get_providers()
    if providers and providers[0] != CPU and providers[0] not in active:
        warnings.warn(
            f"{providers[0]} was requested but onnxruntime fell back to {active}; check the CUDA/cuDNN install",
            RuntimeWarning,
            stacklevel=2,
        )
    return session
