"""workvec: CPU-first ONNX inference for job-title normalization and skill extraction."""

__version__ = "0.1.0"
