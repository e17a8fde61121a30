"""Export stage: sentence-transformers model -> ONNX bundle.

Importing it needs no torch (presets and thresholds are plain data); `export_bundle` checks for the export extra
(`pip install 'workvec[export]'`) before it starts."""

from __future__ import annotations

from workvec.export.bundle import ExportRequest, export_bundle
from workvec.export.parity import Thresholds
from workvec.export.quantize import PRESETS

__all__ = ["PRESETS", "ExportRequest", "Thresholds", "export_bundle"]
