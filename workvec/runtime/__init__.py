"""Runtime half: onnxruntime, tokenizers, numpy and hnswlib only (never torch or transformers)."""

from workvec.runtime.encoder import Encoder, EncoderInfo
from workvec.runtime.manifest import Manifest, read_manifest

__all__ = ["Encoder", "EncoderInfo", "Manifest", "read_manifest"]
