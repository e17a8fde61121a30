"""Export stage: sentence-transformers model -> ONNX bundle (needs `pip install 'workvec[export]'`)."""

from __future__ import annotations

from workvec.export._deps import require_all

require_all()

from workvec.export.bundle import ExportRequest, export_bundle  # noqa: E402
from workvec.export.parity import Thresholds  # noqa: E402

__all__ = ["ExportRequest", "Thresholds", "export_bundle"]
