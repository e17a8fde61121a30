"""Export stage: sentence-transformers model -> ONNX bundle.

Importing it needs no torch: names load on first use, so the CLI can read `PRESETS` (plain data) without pulling
in torch, and a runtime-only install can import `workvec.export.quantize` / `parity`. `export_bundle` needs the
export extra (`pip install 'workvec[export]'`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workvec._lazy import lazy_exports

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


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
