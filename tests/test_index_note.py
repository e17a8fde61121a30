"""A first label-index build says so in one stderr line when no progress bar can show it (stderr not a terminal),
through a real `workvec normalize` subprocess; a cached index and --quiet say nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import write_taxonomy

from workvec.runtime.labels import build_note

NOTE = "building the label index for"
ROWS = [("dev", "software developer", ("programmer",)), ("rn", "registered nurse", ("nurse",)),
        ("drv", "truck driver", ())]


def _normalize(home: Path, bundle: Path, taxonomy: Path, *extra: str) -> list[str]:
    """stderr lines of `workvec normalize nurse` with its own WORKVEC_HOME (stderr is a pipe, not a terminal)."""
    env = {**os.environ, "WORKVEC_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "workvec", "normalize", "nurse", "--bundle", str(bundle),
                           "--taxonomy", str(taxonomy), *extra], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stderr.splitlines()


def test_a_first_build_says_so_once_and_a_cached_index_says_nothing(tmp_path: Path, tiny_title_bundle: Path) -> None:
    taxonomy = write_taxonomy(tmp_path / "jobs.csv", ROWS)
    home = tmp_path / "home"
    first = [line for line in _normalize(home, tiny_title_bundle, taxonomy) if NOTE in line]
    assert len(first) == 1, first
    assert first[0].startswith("workvec: building the label index for ")
    assert "(5 labels, about 5 s, once; cached under " in first[0] and str(home / "indexes") in first[0]
    assert not [line for line in _normalize(home, tiny_title_bundle, taxonomy) if NOTE in line]


def test_quiet_builds_without_a_word(tmp_path: Path, tiny_title_bundle: Path) -> None:
    taxonomy = write_taxonomy(tmp_path / "jobs.csv", ROWS)
    home = tmp_path / "home"
    assert not [line for line in _normalize(home, tiny_title_bundle, taxonomy, "--quiet") if NOTE in line]
    assert any((home / "indexes").iterdir())  # it did build


def test_the_estimate_scales_with_labels_and_threads() -> None:
    one = build_note("esco-occupations", 32_948, 1, Path("/cache/indexes"))
    assert one == ("building the label index for esco-occupations (32,948 labels, about 50 s, once;"
                   " cached under /cache/indexes)")
    assert "about 20 s" in build_note("esco-occupations", 32_948, 8, Path("x"))
    assert "about 5 s" in build_note("tiny", 40, 1, Path("x"))
    assert "min" in build_note("big", 500_000, 1, Path("x"))
