"""`IndexSpec`: how a vector index is built and searched (shared by `vector_index` and `index_files`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workvec.errors import InputError

__all__ = ["MODES", "IndexSpec", "is_int"]

MODES = ("hnsw", "exact", "auto")


def is_int(x: object) -> bool:
    """True for Python and numpy integers, never for bools."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


@dataclass(frozen=True)
class IndexSpec:
    """How to build / search an index. ``threads`` is passed to hnswlib explicitly."""

    mode: str = "auto"
    M: int = 32
    ef_construction: int = 200
    ef: int = 128
    threads: int = 1

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"IndexSpec.mode must be one of {MODES}, got {self.mode!r}")
        for name in ("M", "ef_construction", "ef", "threads"):
            v = getattr(self, name)
            if not is_int(v) or v <= 0:
                raise InputError(f"IndexSpec.{name} must be a positive int, got {v!r}")
