"""Export stage: sentence-transformers model -> ONNX bundle.

Importing it needs no torch: names load on first use, so the CLI can read `PRESETS` (plain data) without pulling
in torch, and a runtime-only install can import `workvec.export.quantize` / `parity`. `export_bundle` needs the
export extra (`pip install 'workvec[export]'`)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "ExportRequest": "workvec.export.bundle",
    "export_bundle": "workvec.export.bundle",
    "Thresholds": "workvec.export.parity",
    "PRESETS": "workvec.export.quantize",
}

__all__ = ["PRESETS", "ExportRequest", "Thresholds", "export_bundle"]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from workvec.export.bundle import ExportRequest, export_bundle
    from workvec.export.parity import Thresholds
    from workvec.export.quantize import PRESETS


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'workvec.export' has no attribute {name!r}")
