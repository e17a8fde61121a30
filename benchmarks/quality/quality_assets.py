"""Models, bundles, cached target vectors and label indexes for `quality.py` (git-ignored .bench-cache)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from _common import CACHE, log

# -------------------------------------------------------------------------------- models and bundles
def reference_model(model: str):
    from workvec.export import graph, source

    return graph.load_model(source.resolve(model))


def bundle_dir(model: str, kind: str) -> Path:
    """The cached bundle of (model, kind), exported on first use."""
    from workvec.defaults import default_model
    from workvec.export import ExportRequest, export_bundle
    from workvec.runtime.manifest import MANIFEST_NAME, read_manifest

    path = Path(model).expanduser()
    local = path.resolve() if path.exists() else None
    name = local.name if local else model.replace("/", "__")
    if local is not None and local == default_model().resolve():
        name = "minilm"  # the default model's directory is just "model"; same name as the speed benchmarks use
    out = CACHE / "bundles" / f"{name}-{kind}"
    if (out / MANIFEST_NAME).is_file():
        manifest = read_manifest(out)
        if manifest.kind == kind and (local is None or Path(manifest.source.get("path", "")) == local):
            return out
        # another model with the same directory name: keep both, told apart by a hash of the path
        out = CACHE / "bundles" / f"{name}-{hashlib.sha256(str(local or model).encode()).hexdigest()[:8]}-{kind}"
        if (out / MANIFEST_NAME).is_file():
            return out
    log(f"exporting {model} ({kind}) -> {out}")
    export_bundle(ExportRequest(model, kind, out), log=log)
    return out


def model_identity(model: str) -> list:
    """What the reference vectors depend on: the model directory's path and its files' sizes and mtimes."""
    from workvec.export import source

    path = source.resolve(model).path
    files = sorted(p for p in path.rglob("*") if p.is_file())
    return [str(path), [(str(p.relative_to(path)), p.stat().st_size, int(p.stat().st_mtime)) for p in files]]


SETTINGS = {"vector_cache": True}  # quality.py --fresh turns it off


def cached_vectors(identity: list, texts: list[str], encode) -> np.ndarray:
    """Target vectors, memoised in .bench-cache/vectors by (encoder identity, texts)."""
    if not SETTINGS["vector_cache"]:
        return np.ascontiguousarray(encode(texts), dtype=np.float32)
    key = hashlib.sha256(json.dumps([identity, texts]).encode("utf-8")).hexdigest()[:24]
    path = CACHE / "vectors" / f"quality-{key}.npy"
    if path.is_file():
        return np.load(path, allow_pickle=False)
    vectors = np.ascontiguousarray(encode(texts), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, vectors, allow_pickle=False)
    os.replace(tmp, path)
    return vectors


BUNDLES: dict[str, dict] = {}  # the bundles a run used, for the report


def load_encoder(model: str, kind: str, precision: str):
    from workvec.runtime.encoder import Encoder

    enc = Encoder.open(bundle_dir(model, kind), precision=precision, providers="cpu")
    BUNDLES[f"{kind}/{precision}"] = {"path": enc.info.bundle, "digest": enc.manifest.identity(),
                                      "quantization": enc.manifest.quantization, "threads": enc.info.threads}
    return enc


def open_index(encoder, taxonomy, include_alt: bool):
    from workvec.runtime.labels import LabelIndex
    from workvec.runtime.vector_index import IndexSpec

    kw = dict(index_dir=CACHE / "indexes" / "quality", include_alt=include_alt, spec=IndexSpec(mode="hnsw"), progress=False)
    return LabelIndex.open(encoder, taxonomy, **kw)  # cached by content: never stale
