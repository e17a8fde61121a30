"""`LabelIndex`: every label of a taxonomy encoded by a bundle, in a persisted vector index.

Indexes are cached by content: the folder `<index dir>/<key>` is named by a hash of the model file and
tokenizer that encoded the labels, the taxonomy's content, the label set, the precision and the index spec.
Two bundles in folders of the same name never share an index, and a byte-identical re-export reuses its own.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from workvec.errors import LabelIndexError
from workvec.runtime.atomic import atomic_folder
from workvec.runtime.encoder import BATCHING, Encoder
from workvec.runtime.hashing import sha256_json
from workvec.runtime.manifest import MODEL_FILES, TOKENIZER_FILE
from workvec.runtime.paths import home
from workvec.runtime.session import default_threads
from workvec.runtime.taxonomy import Taxonomy
from workvec.runtime.vector_index import IndexSpec, VectorIndex

__all__ = ["ABOUT", "BUILD_RATE", "LabelIndex", "build_note", "default_index_dir", "index_key"]

KEY_VERSION = 2
NAME = "index"
ABOUT = "about.json"
# A build's speed for its one-line note: labels encoded and indexed per second on one thread. Measured with the
# shipped int8 MiniLM building the ESCO occupations index (32,948 labels, HNSW) on a 2-core AMD EPYC VM at
# 1 thread (its default): 50-57 s in 5 runs (encode 38-43 s, HNSW 12.5 s) -> ~650 labels/s. More threads are
# assumed to help as threads^0.5 (not measured: the encoder scales sublinearly and HNSW builds on one thread).
BUILD_RATE = 650
BUILD_THREAD_SCALING = 0.5


def default_index_dir() -> Path:
    """Indexes live under workvec's cache root unless an index_dir is given."""
    return home() / "indexes"


def build_note(name: str, count: int, threads: int | None, root: Path) -> str:
    """What a label-index build says before it starts: what, how many labels, roughly how long, where."""
    seconds = count / (BUILD_RATE * (threads or default_threads()) ** BUILD_THREAD_SCALING)
    rough = f"about {max(5, round(seconds / 5) * 5)} s" if seconds < 90 else f"about {round(seconds / 60)} min"
    return f"building the label index for {name} ({count:,} labels, {rough}, once; cached under {root})"


def index_key(encoder: Encoder, taxonomy: Taxonomy, *, include_alt: bool, spec: IndexSpec) -> str:
    """The content key of the index of `taxonomy` under `encoder` (what its cache folder is named by)."""
    files = encoder.manifest.files
    return sha256_json({
        "version": KEY_VERSION,
        "batching": BATCHING,  # how label texts are batched changes their vectors' last bits
        "model": files[MODEL_FILES[encoder.info.precision]]["sha256"],
        "tokenizer": files[TOKENIZER_FILE]["sha256"],
        "taxonomy": taxonomy.sha256,
        "include_alt": include_alt,
        "precision": encoder.info.precision,
        "spec": {k: v for k, v in asdict(spec).items() if k != "threads"},
    })[:32]


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
        *,
        include_alt: bool = True,
        spec: IndexSpec = IndexSpec(),
        index_dir: str | Path | None = None,
        strict: bool = False,
        rebuild: bool = False,
        progress: bool | None = None,
    ) -> LabelIndex:
        """Load the cached index for (bundle content, taxonomy), building it when absent. An unreadable or
        altered cached index is rebuilt (said on stderr) unless `strict`, which raises instead."""
        labels, owners = taxonomy.labels(include_alt=include_alt)
        if not labels:
            raise LabelIndexError(f"taxonomy {taxonomy.name!r} has no labels to index")
        root = Path(index_dir) if index_dir is not None else default_index_dir()
        key = index_key(encoder, taxonomy, include_alt=include_alt, spec=spec)
        folder = root / key
        loaded = None
        if folder.is_dir() and not rebuild:
            try:
                loaded = _load(folder, len(labels), spec.threads)
            except LabelIndexError as exc:
                if strict:
                    raise
                print(f"workvec: rebuilding the {taxonomy.name} label index ({exc})", file=sys.stderr)
        if loaded is None:
            if progress is not False:  # None (auto): the line alone off a terminal, with bars on one
                print(f"workvec: {build_note(taxonomy.name, len(labels), encoder.info.threads, root)}", file=sys.stderr)
            loaded = _build(encoder, labels, spec, folder, sys.stderr.isatty() if progress is None else progress,
                            about={"taxonomy": taxonomy.name, "labels": len(labels), "include_alt": include_alt,
                                   "bundle": str(Path(encoder.info.bundle).resolve()),
                                   "precision": encoder.info.precision})
        index, norms = loaded
        return cls(taxonomy, tuple(labels), np.asarray(owners, dtype=np.int64), norms, index)

    def search(self, vectors: np.ndarray, k: int, *, ef: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-`k` label rows and cosine scores per query vector; `ef`: HNSW search depth (default: the index's)."""
        return self.index.query(vectors, k, ef=ef)


def _load(folder: Path, count: int, threads: int) -> tuple[VectorIndex, np.ndarray]:
    index = VectorIndex.load(folder, NAME, threads=threads)
    path = folder / f"{NAME}.norms.npy"
    try:
        norms = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise LabelIndexError(f"{path} is missing or unreadable ({exc})") from exc
    if norms.shape != (count,) or index.count != count:
        raise LabelIndexError(f"{folder} holds {index.count} vectors / {norms.shape[0]} norms for {count} labels")
    return index, norms.astype(np.float32)


def _encode(encoder: Encoder, labels: list[str], progress: bool, chunk: int = 1024) -> np.ndarray:
    """All label vectors, with a tqdm bar on stderr when `progress`."""
    if not progress:
        return encoder.encode(labels, batch_size=128)
    from tqdm import tqdm

    parts = []
    with tqdm(total=len(labels), unit="label", desc="encode labels", file=sys.stderr) as bar:
        for start in range(0, len(labels), chunk):
            parts.append(encoder.encode(labels[start:start + chunk], batch_size=128))
            bar.update(len(parts[-1]))
    return np.concatenate(parts)


def _build(encoder: Encoder, labels: list[str], spec: IndexSpec, folder: Path, progress: bool,
           about: dict) -> tuple[VectorIndex, np.ndarray]:
    """Encode, index and save into a scratch folder that then replaces `folder` (`workvec.runtime.atomic`)."""
    vectors = _encode(encoder, labels, progress)
    norms = np.linalg.norm(vectors, axis=1).astype(np.float32)
    index = VectorIndex.build(vectors, spec, progress=progress)
    try:
        with atomic_folder(folder) as scratch:
            index.save(scratch, NAME)
            np.save(scratch / f"{NAME}.norms.npy", norms, allow_pickle=False)
            (scratch / ABOUT).write_text(json.dumps(about, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError:  # unwritable cache, or another process won the race: the index in memory is still right
        pass
    return index, norms
