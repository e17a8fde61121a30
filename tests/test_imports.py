"""Import hygiene: the runtime half never pulls in torch, transformers, optimum or sentence-transformers, reaches
no exporter, server or analysis, and workvec has no import cycles."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import workvec

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


# The import graph of workvec/: every `import` / `from ... import` in a module (inside functions too; not under
# `if TYPE_CHECKING:`), a name a package exports lazily (its `_EXPORTS` table) counting as its module.
PACKAGE = Path(workvec.__file__).parent
FORBIDDEN_FROM_RUNTIME = ("workvec.export", "workvec.serve", "workvec.analyze")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _lazy_table(package: str) -> dict[str, str]:
    """A package's `_EXPORTS = {name: module}` table, {} when it has none."""
    path = MODULES.get(package)
    if path is None or path.name != "__init__.py":
        return {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_EXPORTS" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


def _targets(node: ast.AST, package: str) -> list[str]:
    """The workvec modules an import node loads."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join(anchor + ([base] if base else []))
    lazy = _lazy_table(base)
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else lazy.get(a.name, base) for a in node.names]


def _imports(name: str, path: Path) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found, stack = set(), [ast.parse(path.read_text(encoding="utf-8"))]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        found.update(_targets(node, package))
        stack.extend(ast.iter_child_nodes(node))
    return {m for m in found if m in MODULES and m != name}


def _graph() -> dict[str, set[str]]:
    return {name: _imports(name, path) for name, path in MODULES.items()}


def _reachable(graph: dict[str, set[str]], start: str) -> dict[str, str]:
    """Every module `start` loads, directly or not, with the module that imports it (breadth first)."""
    seen, queue = {}, [start]
    for current in queue:
        for nxt in sorted(graph[current] - seen.keys() - {start}):
            seen[nxt] = current
            queue.append(nxt)
    return seen


def _path(via: dict[str, str], start: str, end: str) -> str:
    chain = [end]
    while chain[-1] != start:
        chain.append(via[chain[-1]])
    return " -> ".join(reversed(chain))


def test_the_graph_sees_function_level_and_lazy_imports():
    graph = _graph()
    assert "workvec.export.bundle" in graph["workvec.cli"]  # `from workvec.export import export_bundle` in a function
    assert "workvec.runtime.skills" in graph["workvec.demo"]  # `from workvec import SkillExtractor`


def test_workvec_has_no_import_cycles():
    graph = _graph()
    cycles = {}
    for name in graph:
        via = _reachable(graph, name)
        back = [m for m in via if name in graph[m]]
        if back:
            chain = _path(via, name, back[0]) + f" -> {name}"
            cycles.setdefault(frozenset(chain.split(" -> ")), chain)
    assert not cycles, "import cycles (break them):\n" + "\n".join(sorted(cycles.values()))


def test_the_runtime_never_reaches_export_serve_or_analyze():
    graph = _graph()
    bad = []
    for name in (m for m in graph if m.startswith("workvec.runtime")):
        via = _reachable(graph, name)
        bad += [_path(via, name, m) for m in via if m.startswith(FORBIDDEN_FROM_RUNTIME)][:1]
    assert not bad, "the runtime must not import the exporter, server or analysis:\n" + "\n".join(bad)
