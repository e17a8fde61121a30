"""Guarded imports for the export extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from workvec.errors import ExportError

EXPORT_PACKAGES = ("torch", "transformers", "sentence_transformers", "onnx")
INSTALL_HINT = "pip install 'workvec[export]' -c constraints.txt"


def require(name: str) -> ModuleType:
    """Import an export-only package or raise an error that names the pip command fixing it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ExportError(f"`workvec export` needs {name!r}, which is not installed: {INSTALL_HINT}") from exc


def require_all() -> None:
    """Fail early, with the fix, when any export dependency is missing."""
    for name in EXPORT_PACKAGES:
        require(name)
