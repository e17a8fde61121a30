"""onnxruntime profiling of a workvec Encoder: turn the profiler on, read kernel time per op type back."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any


def profile_encoder(encoder: Any, prefix: str) -> None:
    """Recreate `encoder`'s session on the same (optimised, cached) graph with onnxruntime's profiler on."""
    import onnxruntime as ort

    options = encoder._session.get_session_options()
    options.enable_profiling, options.profile_file_prefix = True, prefix
    encoder._session = ort.InferenceSession(encoder._session._model_path, sess_options=options,
                                            providers=["CPUExecutionProvider"])


def kernel_profile(encoder: Any) -> dict[str, Any]:
    """End the profile: run times (ms, in order), kernel ms and node count per op type summed over all runs."""
    events = json.loads(Path(encoder._session.end_profiling()).read_text())
    runs = [e["dur"] / 1000 for e in events if e.get("cat") == "Session" and e["name"] == "model_run"]
    kernel_ms, nodes = Counter(), Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            kernel_ms[e["args"]["op_name"]] += e["dur"] / 1000
            nodes[e["args"]["op_name"]] += 1
    return {"runs_ms": runs, "kernel_ms": kernel_ms, "nodes": nodes}
