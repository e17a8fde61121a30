"""Saving and loading a `VectorIndex`: the vectors (.npy), the HNSW graph (.hnsw) and a JSON sidecar holding
what hnswlib does not persist (ef), the caller's meta and a sha256 per data file. Never pickle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from workvec.errors import InputError, LabelIndexError
from workvec.runtime.atomic import atomic_path, atomic_write_text
from workvec.runtime.hashing import sha256_file
from workvec.runtime.index_spec import IndexSpec

__all__ = ["FORMAT", "file_names", "load", "save"]

FORMAT = 1


def file_names(name: str, mode: str) -> list[str]:
    """Files of a saved index: the vectors always (fast reload, exact re-scoring), the graph in HNSW mode."""
    return [f"{name}.npy", f"{name}.hnsw"] if mode == "hnsw" else [f"{name}.npy"]


def save(directory: Path, name: str, vectors: np.ndarray, spec: IndexSpec, meta: dict, hnsw: object | None) -> None:
    """Write ``name.npy`` (the vectors), ``name.hnsw`` when there is a graph, then the ``name.json`` sidecar,
    each atomically (the caller holds the index's lock)."""
    directory.mkdir(parents=True, exist_ok=True)
    names = file_names(name, spec.mode)
    with atomic_path(directory / f"{name}.npy") as tmp:
        np.save(tmp, vectors, allow_pickle=False)
    if hnsw is not None:
        with atomic_path(directory / f"{name}.hnsw") as tmp:
            hnsw.save_index(str(tmp))
    side = {"format": FORMAT, "mode": spec.mode, "dim": int(vectors.shape[1]), "count": int(vectors.shape[0]),
            "space": "ip", "M": spec.M, "ef_construction": spec.ef_construction, "ef": spec.ef,
            "meta": meta, "sha256": {f: sha256_file(directory / f) for f in names}}
    atomic_write_text(directory / f"{name}.json", json.dumps(side, indent=2, sort_keys=True) + "\n")


def load(directory: Path, name: str, expect_meta: dict, threads: int) -> tuple[np.ndarray, IndexSpec, dict, object]:
    """Load and verify an index: (vectors, spec, meta, hnswlib graph or None), what `VectorIndex` is made of;
    LabelIndexError if missing, altered or built for other inputs."""
    hint = "build it with VectorIndex.build(vectors, spec, meta).save(directory, name)"
    if not directory.is_dir():
        raise LabelIndexError(f"label index directory {directory} does not exist; {hint}")
    side_path = directory / f"{name}.json"
    if not side_path.is_file():
        raise LabelIndexError(f"label index sidecar {side_path} is missing; {hint}")
    try:
        side = json.loads(side_path.read_text(encoding="utf-8"))
        mode, dim, count = side["mode"], int(side["dim"]), int(side["count"])
        spec = IndexSpec(mode, int(side["M"]), int(side["ef_construction"]), int(side["ef"]),
                         threads)
        saved_meta, hashes = side["meta"], dict(side["sha256"])
        ok = side["format"] == FORMAT and side["space"] == "ip" and mode != "auto"
    except (ValueError, KeyError, TypeError, InputError, UnicodeDecodeError) as e:
        raise LabelIndexError(f"label index sidecar {side_path} is corrupt ({e}); "
                              f"delete {directory} and rebuild the index") from e
    if not ok or not isinstance(saved_meta, dict):
        raise LabelIndexError(f"label index sidecar {side_path} has an unsupported format "
                              f"(format={side.get('format')!r}, space={side.get('space')!r}); "
                              f"delete {directory} and rebuild the index")
    for key, want in expect_meta.items():
        if saved_meta.get(key, "<absent>") != want:
            raise LabelIndexError(
                f"label index {directory / name} is stale: meta[{key!r}] is "
                f"{saved_meta.get(key, '<absent>')!r} in the index but {want!r} expected; "
                f"rebuild the index (CLI: --rebuild-index; Python: rebuild=True; or delete {directory})")
    for fname in file_names(name, mode):
        path = directory / fname
        if fname not in hashes:
            raise LabelIndexError(f"label index sidecar {side_path} lists no sha256 for {fname}; rebuild it")
        if not path.is_file():
            raise LabelIndexError(f"label index file {path} is missing; delete {directory} and rebuild it")
        if sha256_file(path) != hashes[fname]:
            raise LabelIndexError(f"label index file {path} was altered or truncated (sha256 mismatch); "
                                  f"delete {directory} and rebuild the index")
    path = directory / f"{name}.npy"
    try:
        vecs, hnsw = np.load(path, allow_pickle=False), None
        if vecs.shape != (count, dim) or vecs.dtype != np.float32:
            raise ValueError(f"holds {vecs.dtype} {vecs.shape}, sidecar says float32 {(count, dim)}")
        if mode == "hnsw":
            import hnswlib

            path = directory / f"{name}.hnsw"
            hnsw = hnswlib.Index(space="ip", dim=dim)
            hnsw.load_index(str(path), max_elements=count)
            if hnsw.get_current_count() != count:
                raise ValueError(f"holds {hnsw.get_current_count()} items, sidecar says {count}")
            hnsw.set_ef(spec.ef)  # hnswlib does not persist ef
            hnsw.set_num_threads(threads)
    except (ValueError, RuntimeError, OSError) as e:
        raise LabelIndexError(f"label index file {path} is unreadable ({e}); "
                              f"delete {directory} and rebuild the index") from e
    return vecs, spec, saved_meta, hnsw
