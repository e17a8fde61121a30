"""Cosine (inner-product) vector index: hnswlib HNSW or exact numpy search.

Vectors are L2-normalized float32 rows; scores are dot products (cosine).
Saved as ``name.hnsw`` (hnswlib) or ``name.npy`` (exact) plus a ``name.json``
sidecar holding the parameters hnswlib does not persist (notably ``ef``), the
caller's ``meta`` (bundle / taxonomy hashes) and a sha256 per data file.
Never pickle.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from workvec.errors import InputError
from workvec.runtime import index_files
from workvec.runtime.index_spec import IndexSpec, is_int

__all__ = ["AUTO_EXACT_BELOW", "IndexSpec", "VectorIndex"]

AUTO_EXACT_BELOW = 20_000  # "auto" mode: exact search below this many rows, HNSW above
_CHUNK_SCORE_BYTES = 256 * 2**20  # exact mode: at most ~256 MB of scores per chunk
_CHUNK_GATHER_BYTES = 32 * 2**20  # re-scoring: at most ~32 MB of gathered label vectors per chunk
_ADD_CHUNK = 8192  # rows per hnswlib add_items call (progress granularity)


def _normalize(x: np.ndarray, what: str) -> np.ndarray:
    """Finite-checked, C-contiguous float32 copy with unit rows (zero rows stay zero)."""
    x = np.array(x, dtype=np.float32, order="C", copy=True)
    if not np.isfinite(x).all():
        raise InputError(f"{what} contain NaN or inf values")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 0)
    return x


def _sort_topk(ids: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row by descending score, ties by ascending id."""
    order = np.lexsort((ids, -scores), axis=-1)
    return np.take_along_axis(ids, order, 1), np.take_along_axis(scores, order, 1)


class VectorIndex:
    """Inner-product search over L2-normalized float32 vectors (cosine)."""

    def __init__(self, vectors: np.ndarray, spec: IndexSpec, meta: dict, hnsw: object | None) -> None:
        """Internal: use :meth:`build` or :meth:`load`."""
        vectors.flags.writeable = False
        self._vectors = vectors
        self._spec = spec
        self._meta = meta
        self._hnsw = hnsw
        self._lock = threading.RLock()  # hnswlib must not add while querying; set_ef is global state

    # ------------------------------------------------------------------ build
    @classmethod
    def build(cls, vectors: np.ndarray, spec: IndexSpec = IndexSpec(), meta: dict | None = None,
              progress: bool = False) -> VectorIndex:
        """Normalize ``vectors`` (n, d) and index them; "auto" picks exact below AUTO_EXACT_BELOW rows."""
        arr = np.asarray(vectors)
        if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
            raise InputError(f"vectors must be a non-empty (n, d) array, got shape {arr.shape}")
        meta = cls._check_meta(meta)
        data = _normalize(arr, "vectors")
        mode = spec.mode
        if mode == "auto":
            mode = "exact" if data.shape[0] < AUTO_EXACT_BELOW else "hnsw"
        spec = IndexSpec(mode, spec.M, spec.ef_construction, spec.ef, spec.threads)
        hnsw = cls._new_hnsw(data, spec, progress) if mode == "hnsw" else None
        return cls(data, spec, meta, hnsw)

    @staticmethod
    def _check_meta(meta: dict | None) -> dict:
        try:
            return json.loads(json.dumps(dict(meta or {})))  # JSON round trip: what load will see
        except (TypeError, ValueError) as e:
            raise InputError(f"index meta must be JSON-serializable: {e}") from e

    @staticmethod
    def _new_hnsw(data: np.ndarray, spec: IndexSpec, progress: bool) -> object:
        import hnswlib

        n, d = data.shape
        index = hnswlib.Index(space="ip", dim=d)
        index.init_index(max_elements=n, ef_construction=spec.ef_construction, M=spec.M)
        index.set_num_threads(spec.threads)
        VectorIndex._add_chunks(index, data, 0, spec.threads, progress)
        index.set_ef(spec.ef)
        return index

    @staticmethod
    def _add_chunks(index: object, data: np.ndarray, start: int, threads: int, progress: bool) -> None:
        bar = None
        if progress:
            try:
                from tqdm import tqdm

                bar = tqdm(total=len(data), desc="indexing", unit="vec")
            except ImportError:
                bar = None
        try:
            for i in range(0, len(data), _ADD_CHUNK):
                chunk = data[i:i + _ADD_CHUNK]
                ids = np.arange(start + i, start + i + len(chunk), dtype=np.int64)
                index.add_items(chunk, ids, num_threads=threads)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()

    def add(self, vectors: np.ndarray, progress: bool = False) -> np.ndarray:
        """Append rows (normalized); returns their ids. Blocks while a query runs."""
        arr = np.asarray(vectors)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise InputError(f"added vectors must have dimension {self.dim}, got shape {arr.shape}")
        data = _normalize(arr, "vectors")
        with self._lock:
            start = self.count
            if self._hnsw is not None:
                self._hnsw.resize_index(start + len(data))
                self._add_chunks(self._hnsw, data, start, self._spec.threads, progress)
            vecs = np.concatenate([self._vectors, data])
            vecs.flags.writeable = False
            self._vectors = vecs
            return np.arange(start, start + len(data), dtype=np.int64)

    # ------------------------------------------------------------- properties
    @property
    def mode(self) -> str:
        return self._spec.mode

    @property
    def dim(self) -> int:
        return int(self._vectors.shape[1])

    @property
    def count(self) -> int:
        return int(self._vectors.shape[0])

    @property
    def meta(self) -> dict:
        return json.loads(json.dumps(self._meta))

    @property
    def spec(self) -> IndexSpec:
        return self._spec

    def vectors(self) -> np.ndarray:
        """The stored normalized float32 vectors (read-only view, no copy)."""
        return self._vectors

    # ------------------------------------------------------------------ query
    def query(self, queries: np.ndarray, k: int, ef: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by cosine: (ids int64 (q, k'), scores float32 (q, k')), k' = min(k, count).

        ``ef`` (hnsw only) defaults to the spec's; an ef below k' is raised to k' silently.
        HNSW scores are recomputed exactly from the stored vectors.
        """
        if not is_int(k) or k <= 0:
            raise InputError(f"k must be a positive int, got {k!r}")
        if ef is not None and (not is_int(ef) or ef <= 0):
            raise InputError(f"ef must be a positive int, got {ef!r}")
        q = np.asarray(queries)
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2:
            raise InputError(f"queries must be (q, d) or (d,), got shape {np.shape(queries)}")
        if q.shape[1] != self.dim:
            raise InputError(f"query dimension {q.shape[1]} does not match index dimension {self.dim}")
        q = _normalize(q, "queries")
        with self._lock:
            kk = min(int(k), self.count)
            if self._hnsw is None or len(q) == 0:
                return self._exact(q, kk)
            return self._hnsw_query(q, kk, max(int(ef or self._spec.ef), kk))

    def _exact(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k of every label: candidates from one BLAS product per chunk of queries (fast, but its last bits
        depend on how many queries it holds), then each query's candidates re-scored on their own, so a query's
        result does not depend on its batch."""
        n = self.count
        m = min(n, 2 * k + 8)  # candidates: a label beyond them would need a score within ~1e-7 of the k-th
        if m == n:  # every label is a candidate: one (n, d) @ (d,) product per query, no gathered copy
            scores = np.stack([self._vectors @ row for row in q]) if len(q) else np.empty((0, n), np.float32)
            top_i, top_s = _sort_topk(np.broadcast_to(np.arange(n, dtype=np.int64), scores.shape), scores)
        else:
            ids = np.empty((len(q), m), np.int64)
            step = max(1, _CHUNK_SCORE_BYTES // (4 * n))
            for i in range(0, len(q), step):
                ids[i:i + step] = np.argpartition(-(q[i:i + step] @ self._vectors.T), m - 1, axis=1)[:, :m]
            top_i, top_s = self._rescore(q, ids)
        return top_i[:, :k], top_s[:, :k]

    def _rescore(self, q: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact scores of each query's `ids`, one (k, d) @ (d,) product per query (batch-independent), sorted."""
        scores = np.empty(ids.shape, np.float32)
        step = max(1, _CHUNK_GATHER_BYTES // (4 * self.dim * max(ids.shape[1], 1)))
        for i in range(0, len(q), step):
            scores[i:i + step] = np.matmul(self._vectors[ids[i:i + step]], q[i:i + step, :, None])[:, :, 0]
        return _sort_topk(ids, scores)

    def _hnsw_query(self, q: np.ndarray, k: int, ef: int) -> tuple[np.ndarray, np.ndarray]:
        labels = None
        for attempt_ef in dict.fromkeys((ef, min(max(4 * ef, 2 * k), max(self.count, ef)))):
            try:
                if attempt_ef != self._spec.ef:
                    self._hnsw.set_ef(attempt_ef)
                labels, _ = self._hnsw.knn_query(q, k=k, num_threads=self._spec.threads)
                break
            except RuntimeError:  # "Cannot return the results in a contiguous 2D array"
                continue
            finally:
                if attempt_ef != self._spec.ef:
                    self._hnsw.set_ef(self._spec.ef)
        if labels is None:
            return self._exact(q, k)  # graph could not yield k results: exact is always correct
        return self._rescore(q, np.asarray(labels, dtype=np.int64))

    # -------------------------------------------------------------- save/load
    def save(self, directory: Path, name: str) -> None:
        """Write ``name.npy`` (the vectors), ``name.hnsw`` in HNSW mode, then the ``name.json`` sidecar."""
        with self._lock:
            index_files.save(Path(directory), name, self._vectors, self._spec, self._meta, self._hnsw)

    @classmethod
    def load(cls, directory: Path, name: str, expect_meta: dict | None = None, threads: int = 1) -> VectorIndex:
        """Load and verify an index; LabelIndexError if missing, altered or built for other inputs."""
        return cls(*index_files.load(Path(directory), name, cls._check_meta(expect_meta), threads))
