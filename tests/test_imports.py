"""Import hygiene: the runtime half never pulls in torch, transformers, optimum or sentence-transformers."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "transformers", "optimum", "sentence_transformers")


def _loaded_heavy(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_runtime_is_torch_free():
    assert _loaded_heavy("import workvec, workvec.runtime") == []


def test_encoding_with_a_bundle_is_torch_free(tiny_skill_bundle):
    code = (
        "import workvec\n"
        f"enc = workvec.Encoder.open({str(tiny_skill_bundle)!r})\n"
        "assert enc.encode(['software engineer']).shape == (1, 32)\n"
        "assert enc.encode_tokens(['software engineer'])[0].vectors.shape[1] == 32\n"
    )
    assert _loaded_heavy(code) == []


def test_cli_is_torch_free(tiny_title_bundle, tmp_path):
    code = (
        "import contextlib, io\n"
        "from workvec.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['info', {str(tiny_title_bundle)!r}]) == 0\n"
        f"    assert main(['normalize', 'nurse', '--bundle', {str(tiny_title_bundle)!r},"
        f" '--index-dir', {str(tmp_path)!r}]) == 0\n"
    )
    assert _loaded_heavy(code) == []


def test_export_presets_and_thresholds_are_torch_free():
    assert _loaded_heavy("from workvec.export import PRESETS, Thresholds\nassert PRESETS and Thresholds()") == []
