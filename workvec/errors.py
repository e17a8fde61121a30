"""Exceptions raised by workvec: each message names the problem and the fix."""

from __future__ import annotations


class WorkvecError(Exception):
    """Base class for every error workvec raises on purpose."""


class BundleError(WorkvecError):
    """A bundle directory is missing, incomplete, altered or from another model."""


class ExportError(WorkvecError):
    """A model cannot be exported (bad path, unknown branch, unsupported layout)."""


class ParityError(ExportError):
    """The exported graph misses the parity bar; the report is attached."""

    def __init__(self, message: str, report: dict) -> None:
        super().__init__(message)
        self.report = report


class ProviderError(WorkvecError):
    """A requested onnxruntime execution provider is not installed."""


class TaxonomyError(WorkvecError):
    """A taxonomy file is unreadable, malformed or inconsistent."""


class LabelIndexError(WorkvecError):
    """A label index is missing, stale or queried with bad arguments."""


class InputError(WorkvecError, ValueError):
    """A user-supplied argument is out of range (k <= 0, negative threshold, ...)."""
