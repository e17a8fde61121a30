"""Saving and loading a `VectorIndex`: the vectors (.npy), the HNSW graph (.hnsw) and a JSON sidecar holding
what hnswlib does not persist (ef), the caller's meta and a sha256 per data file. Never pickle."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from workvec.errors import InputError, LabelIndexError
from workvec.runtime.hashing import sha256_file
from workvec.runtime.vector_index import FORMAT, IndexSpec, VectorIndex, file_names


def save(index: VectorIndex, directory: Path, name: str) -> None:
    """Write ``name.npy`` (the vectors), ``name.hnsw`` in HNSW mode, then the ``name.json`` sidecar
    (the caller holds the index's lock)."""
    directory.mkdir(parents=True, exist_ok=True)
    names = file_names(name, index.mode)
    for fname in names:
        tmp = directory / (fname + ".tmp")
        if fname.endswith(".hnsw"):
            index._hnsw_graph().save_index(str(tmp))
        else:
            with open(tmp, "wb") as f:
                np.save(f, index.vectors(), allow_pickle=False)
        os.replace(tmp, directory / fname)
    s = index.spec
    side = {"format": FORMAT, "mode": index.mode, "dim": index.dim, "count": index.count,
            "space": "ip", "M": s.M, "ef_construction": s.ef_construction, "ef": s.ef,
            "meta": index.meta, "sha256": {f: sha256_file(directory / f) for f in names}}
    tmp = directory / f"{name}.json.tmp"
    tmp.write_text(json.dumps(side, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, directory / f"{name}.json")


def load(directory: Path, name: str, expect_meta: dict, threads: int) -> VectorIndex:
    """Load and verify an index; LabelIndexError if missing, altered or built for other inputs."""
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
    return VectorIndex(vecs, spec, saved_meta, hnsw)
