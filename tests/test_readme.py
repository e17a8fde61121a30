"""The README's ```python blocks run as written (each in a fresh interpreter), so the front door stays true.

Fast tier: $WORKVEC_HOME holds the committed tiny bundles as the default bundles (`bundles/minilm-title`,
`bundles/minilm-skill`, where `workvec demo` puts them). Slow tier: the same with real MiniLM exports.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks() -> list[str]:
    return BLOCK.findall(README.read_text(encoding="utf-8"))


def home_with_default_bundles(home: Path, title: Path, skill: Path) -> Path:
    for kind, bundle in (("title", title), ("skill", skill)):
        shutil.copytree(bundle, home / "bundles" / f"minilm-{kind}")
    return home


def run_block(code: str, home: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "WORKVEC_HOME": str(home)}
    for kind in ("title", "skill"):  # these stand in for the shipped default bundle
        env[f"WORKVEC_{kind.upper()}_BUNDLE"] = str(home / "bundles" / f"minilm-{kind}")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def check_readme(home: Path, cwd: Path) -> None:
    blocks = python_blocks()
    assert blocks, f"{README} has no ```python block"
    for number, code in enumerate(blocks, 1):
        done = run_block(code, home, cwd)
        assert done.returncode == 0, f"README python block {number} fails as written:\n{code}\n{done.stderr}"
        assert "Traceback" not in done.stderr


def test_readme_python_blocks_are_found() -> None:
    blocks = python_blocks()
    assert blocks and all("import workvec" in b for b in blocks[:1])


def test_readme_python_blocks_run(tiny_title_bundle: Path, tiny_skill_bundle: Path, tmp_path: Path) -> None:
    home = home_with_default_bundles(tmp_path / "home", tiny_title_bundle, tiny_skill_bundle)
    work = tmp_path / "work"
    work.mkdir()
    check_readme(home, work)
    assert (home / "indexes").is_dir(), "the README's objects should cache their label indexes under WORKVEC_HOME"


def _literal(pattern: str, code: str):
    match = re.search(pattern, code)
    assert match, f"the README's first python block no longer has {pattern!r}"
    return ast.literal_eval(match.group(1))


def test_readme_python_prints_what_the_cli_prints(tiny_title_bundle: Path, tiny_skill_bundle: Path,
                                                  tmp_path: Path) -> None:
    """The first block's JSON lines equal `workvec normalize ... --json` and `workvec extract ... --json`."""
    home = home_with_default_bundles(tmp_path / "home", tiny_title_bundle, tiny_skill_bundle)
    code = python_blocks()[0]
    titles, k = _literal(r"normalize\((\[[^\]]*\])", code), _literal(r"normalize\(\[[^\]]*\], k=(\d+)\)", code)
    ad = _literal(r"\nad = (\"[^\n]*\")\n", code)
    printed = run_block(code, home, tmp_path)
    assert printed.returncode == 0, printed.stderr
    cli = [run_block(f"import sys; from workvec.cli import main; sys.exit(main({argv!r}))", home, tmp_path)
           for argv in (["normalize", *titles, "--k", str(k), "--json"], ["extract", ad, "--json"])]
    assert all(done.returncode == 0 for done in cli), [done.stderr for done in cli]
    lines = [json.loads(line) for line in printed.stdout.splitlines()]
    assert lines == [json.loads(line) for done in cli for line in done.stdout.splitlines()]
    assert lines[0]["query"] == titles[0] and "skipped" in lines[-1]


def test_a_broken_readme_block_fails(tiny_title_bundle: Path, tmp_path: Path) -> None:
    """The runner really reports a failing block (a guard against a check that can never fail)."""
    done = run_block("import workvec\nworkvec.TitleNormalizer.open(taxonomy='no-such-taxonomy')",
                     home_with_default_bundles(tmp_path / "home", tiny_title_bundle, tiny_title_bundle), tmp_path)
    assert done.returncode != 0 and "no-such-taxonomy" in done.stderr


@pytest.mark.integration
@pytest.mark.slow  # ~100 s of index builds; the fast tier runs the same blocks (tiny bundles)
def test_readme_python_blocks_run_with_minilm(minilm_title: Path, minilm_skill: Path, tmp_path: Path) -> None:
    home = home_with_default_bundles(tmp_path / "home", minilm_title, minilm_skill)
    work = tmp_path / "work"
    work.mkdir()
    check_readme(home, work)
