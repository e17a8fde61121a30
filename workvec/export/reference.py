"""Reference outputs from sentence-transformers itself (what the bundle must reproduce)."""

from __future__ import annotations

from typing import Any

import numpy as np

from workvec.export._deps import require
from workvec.export.parity import Reference


def _numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def title_encoder(model: Any, branch: str | None):
    """A callable texts -> vectors through the model's own head (the `branch` route when it has one)."""
    if branch is None:
        return lambda texts: model.encode(texts, batch_size=32, convert_to_numpy=True)
    return lambda texts: model.encode(texts, batch_size=32, convert_to_numpy=True, task=branch)


def pooled_encoder(model: Any):
    """A callable texts -> mean-pooled, unnormalised vectors (transformer + pooling only)."""
    st = require("sentence_transformers")
    pooled = st.SentenceTransformer(modules=[model[0], model[1]], device="cpu")
    pooled.max_seq_length = model.max_seq_length
    return lambda texts: pooled.encode(texts, batch_size=32, convert_to_numpy=True)


def token_outputs(model: Any, texts: list[str]) -> list[np.ndarray]:
    """sentence-transformers' `output_value="token_embeddings"` (padding removed) as numpy arrays."""
    out = model.encode(texts, batch_size=32, output_value="token_embeddings")
    return [_numpy(t).astype(np.float32) for t in out]


def reference(model: Any, kind: str, branch: str | None, probes: list[str], labels: list[str]) -> Reference:
    """Reference probe and label vectors (and probe token vectors for skill bundles)."""
    torch = require("torch")
    encode = title_encoder(model, branch) if kind == "title" else pooled_encoder(model)
    with torch.inference_mode():
        tokens = token_outputs(model, probes) if kind == "skill" else None
        return Reference(probes=encode(probes), labels=encode(labels), tokens=tokens)
