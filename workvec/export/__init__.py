"""Export stage: sentence-transformers model -> ONNX bundle.

Importing it needs no torch (presets and thresholds are plain data); `export_bundle` checks for the export extra
(`pip install 'workvec[export]'`) before it starts. Names load on first use: `bundle` imports `graph`, which
imports torch, and `workvec serve` (which reads PRESETS through the CLI parser) must not pay ~190 MB for it."""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "ExportRequest": "workvec.export.bundle",
    "export_bundle": "workvec.export.bundle",
    "Thresholds": "workvec.export.parity",
    "PRESETS": "workvec.export.quantize",
}

__all__ = ["PRESETS", "ExportRequest", "Thresholds", "export_bundle"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'workvec.export' has no attribute {name!r}")
