"""workvec.runtime.paths: the runtime's default bundle ($WORKVEC_*_BUNDLE, shipped, exported by `workvec demo`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workvec.errors import BundleError
from workvec.runtime import paths


@pytest.fixture
def no_shipped_model(monkeypatch, tmp_path: Path) -> Path:
    """An install without the shipped model and with an empty cache root."""
    monkeypatch.setattr(paths, "SHIPPED_BUNDLE", tmp_path / "absent")
    monkeypatch.setenv("WORKVEC_HOME", str(tmp_path / "home"))
    for kind in ("TITLE", "SKILL"):
        monkeypatch.delenv(f"WORKVEC_{kind}_BUNDLE", raising=False)
    return tmp_path / "home"


def test_without_a_bundle_the_error_names_the_fixes(no_shipped_model: Path) -> None:
    with pytest.raises(BundleError) as caught:
        paths.default_bundle("title")
    message = str(caught.value)
    assert "--bundle DIR" in message and "`workvec demo`" in message and "\n" not in message
    assert str(no_shipped_model / "bundles" / "minilm-title") in message


def test_a_bundle_that_workvec_demo_exported_is_found(no_shipped_model: Path) -> None:
    exported = paths.exported_bundle("skill")
    exported.mkdir(parents=True)
    (exported / "workvec.json").write_text("{}")
    assert paths.default_bundle("skill") == exported


def test_the_environment_wins(no_shipped_model: Path, monkeypatch, tiny_title_bundle: Path) -> None:
    monkeypatch.setenv("WORKVEC_TITLE_BUNDLE", str(tiny_title_bundle))
    assert paths.default_bundle("title") == tiny_title_bundle
