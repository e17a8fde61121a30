"""Where the runtime finds things: workvec's cache root and the default bundle (no exporter is reached from here).

The default bundle of a kind is $WORKVEC_TITLE_BUNDLE / $WORKVEC_SKILL_BUNDLE when set; else the int8 bundle
shipped in the package; else one that `workvec demo` exported earlier; else an error naming the fix.
"""

from __future__ import annotations

import os
from pathlib import Path

from workvec.errors import BundleError

__all__ = ["SHIPPED_BUNDLE", "default_bundle", "exported_bundle", "home", "shipped_bundle"]

SHIPPED_BUNDLE = Path(__file__).parents[1] / "models" / "workvec-minilm-esco"  # see its README.md (model card)


def home() -> Path:
    """workvec's cache root: $WORKVEC_HOME, else $XDG_CACHE_HOME/workvec, else ~/.cache/workvec."""
    if os.environ.get("WORKVEC_HOME"):
        return Path(os.environ["WORKVEC_HOME"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "workvec"


def shipped_bundle() -> Path | None:
    """The int8 bundle shipped inside the package (one model for titles and skills), when this install has it."""
    return SHIPPED_BUNDLE if (SHIPPED_BUNDLE / "workvec.json").is_file() else None


def exported_bundle(kind: str) -> Path:
    """Where `workvec demo` exports the default bundle of `kind` when the package ships none."""
    return home() / "bundles" / f"minilm-{kind}"


def default_bundle(kind: str) -> Path:
    """The bundle of `kind` to use when none is given (see the module docstring); BundleError when there is none."""
    chosen = os.environ.get(f"WORKVEC_{kind.upper()}_BUNDLE")
    if chosen:
        return Path(chosen).expanduser()
    shipped = shipped_bundle()
    if shipped is not None:
        return shipped
    path = exported_bundle(kind)
    if (path / "workvec.json").is_file():
        return path
    raise BundleError(
        f"no {kind} bundle given and this install ships none; pass bundle=DIR (CLI --bundle DIR), or install the"
        f" export extra (pip install 'workvec[export]') and run `workvec demo` once to export one to {path}"
    )
