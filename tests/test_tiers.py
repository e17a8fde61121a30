"""The test tiers themselves: a missing shared data folder skips a test, except under CI=true where it fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NEEDS_SHARED = "tests/test_taxonomy.py::test_esco_occupations_csv"


def run_pytest(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("ci, outcome", [("", "1 skipped"), ("true", "1 failed")])
def test_missing_shared_data(tmp_path: Path, ci: str, outcome: str) -> None:
    missing = tmp_path / "no-shared-data"
    done = run_pytest(NEEDS_SHARED, "-rsf", WORKVEC_SHARED=str(missing), CI=ci)
    assert outcome in done.stdout, done.stdout + done.stderr
    assert f"shared data not found: {missing / 'esco' / 'occupations_en.csv'}" in done.stdout
    assert "WORKVEC_SHARED" in done.stdout
    assert done.returncode == (1 if ci else 0)
