"""`LabelIndex`: every label of a taxonomy encoded by a bundle, in a persisted vector index."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workvec.errors import LabelIndexError
from workvec.runtime.encoder import Encoder
from workvec.runtime.taxonomy import Taxonomy
from workvec.runtime.vector_index import IndexSpec, VectorIndex


def default_index_dir() -> Path:
    """Indexes live under workvec's cache root unless --index-dir says otherwise."""
    from workvec.defaults import home

    return home() / "indexes"


@dataclass(frozen=True)
class LabelIndex:
    """Label vectors of one taxonomy under one bundle: `owners[i]` is the concept of label `i`."""

    taxonomy: Taxonomy
    labels: tuple[str, ...]
    owners: np.ndarray
    norms: np.ndarray
    index: VectorIndex

    def raw_vectors(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The encoder's unnormalised label vectors (what ConTeXT-match scores against)."""
        unit = self.index.vectors() if rows is None else self.index.vectors()[rows]
        norms = self.norms if rows is None else self.norms[rows]
        return unit * norms[:, None]

    @classmethod
    def open(
        cls,
        encoder: Encoder,
        taxonomy: Taxonomy,
        index_dir: str | Path | None = None,
        include_alt: bool = True,
        spec: IndexSpec = IndexSpec(),
        rebuild: bool = False,
        progress: bool = True,
    ) -> LabelIndex:
        """Load the cached index for (bundle, taxonomy), building it when absent (or when `rebuild`)."""
        directory = Path(index_dir) if index_dir is not None else default_index_dir()
        directory = directory / Path(encoder.info.bundle).resolve().name
        name = f"{taxonomy.name}.{'all' if include_alt else 'preferred'}.{encoder.info.precision}.{spec.mode}"
        meta = {
            "bundle": encoder.manifest.digest(),
            "taxonomy": taxonomy.sha256,
            "include_alt": include_alt,
            "precision": encoder.info.precision,
        }
        labels, owners = taxonomy.labels(include_alt=include_alt)
        if not labels:
            raise LabelIndexError(f"taxonomy {taxonomy.name!r} has no labels to index")
        if not rebuild and (directory / f"{name}.json").is_file():
            index = VectorIndex.load(directory, name, expect_meta=meta, threads=spec.threads)
            norms = _load_norms(directory, name, len(labels))
        else:
            vectors = encoder.encode(labels, batch_size=128)
            norms = np.linalg.norm(vectors, axis=1).astype(np.float32)
            index = VectorIndex.build(vectors, spec, meta=meta, progress=progress)
            directory.mkdir(parents=True, exist_ok=True)
            index.save(directory, name)
            np.save(directory / f"{name}.norms.npy", norms, allow_pickle=False)
        return cls(taxonomy, tuple(labels), np.asarray(owners, dtype=np.int64), norms, index)

    def search(self, vectors: np.ndarray, k: int, ef: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-`k` label rows and cosine scores per query vector; `ef`: HNSW search depth (default: the index's)."""
        return self.index.query(vectors, k, ef=ef)


def _load_norms(directory: Path, name: str, count: int) -> np.ndarray:
    path = directory / f"{name}.norms.npy"
    try:
        norms = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise LabelIndexError(f"{path} is missing or unreadable ({exc}); rebuild the index (--rebuild-index)") from exc
    if norms.shape != (count,):
        raise LabelIndexError(f"{path} holds {norms.shape} norms for {count} labels; rebuild the index (--rebuild-index)")
    return norms.astype(np.float32)

