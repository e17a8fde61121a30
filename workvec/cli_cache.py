"""`workvec cache list|clear`: what lives under $WORKVEC_HOME (bundles, label indexes, optimised graphs)."""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

KINDS = ("bundles", "indexes", "graphs")


@dataclass(frozen=True)
class CacheEntry:
    """One cached thing: its kind, folder or file, size and a short description."""

    kind: str
    path: str
    bytes: int
    about: str


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _describe(kind: str, path: Path) -> str:
    if kind == "bundles":
        m = _read_json(path / "workvec.json")
        return f"{m.get('kind', '?')} bundle of {Path(str(m.get('source', {}).get('model', '?'))).name}"
    if kind == "indexes":
        a = _read_json(path / "about.json")
        return f"{a.get('taxonomy', '?')} ({a.get('labels', '?')} labels, {a.get('precision', '?')}) for {a.get('bundle', '?')}"
    return f"optimised graph of {_read_json(path.with_suffix('.json')).get('model', '?')}"


def list_cache(home: Path) -> list[CacheEntry]:
    """Every bundle, label index and optimised graph under `home` (orphaned graphs are dropped first)."""
    from workvec.runtime import graph_cache

    graph_cache.prune()
    found = []
    for kind in KINDS:
        folder = home / kind
        if not folder.is_dir():
            continue
        items = sorted(folder.glob("*.onnx")) if kind == "graphs" else sorted(p for p in folder.iterdir() if p.is_dir())
        found += [CacheEntry(kind, str(p), _size(p), _describe(kind, p)) for p in items if not p.name.startswith(".")]
    return found


def _list(args: argparse.Namespace) -> int:
    from workvec.runtime.paths import home

    entries = list_cache(home())
    if args.json:
        print(json.dumps({"home": str(home()), "entries": [asdict(e) for e in entries]}, indent=2))
        return 0
    print(f"{home()}  ({sum(e.bytes for e in entries) / 1e6:.1f} MB)")
    for kind in KINDS:
        mine = [e for e in entries if e.kind == kind]
        print(f"{kind}: {len(mine)}, {sum(e.bytes for e in mine) / 1e6:.1f} MB")
        for e in mine:
            print(f"  {e.bytes / 1e6:8.1f} MB  {Path(e.path).name}  {e.about}")
    return 0


def _clear(args: argparse.Namespace) -> int:
    from workvec.runtime.paths import home

    kinds = args.only or list(KINDS)
    freed = 0
    for kind in kinds:
        folder = home() / kind
        if folder.is_dir():
            freed += _size(folder)
            shutil.rmtree(folder)
    print(f"cleared {', '.join(kinds)} under {home()} ({freed / 1e6:.1f} MB)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `cache list` and `cache clear`."""
    p = sub.add_parser("cache", help="list or clear what workvec keeps under $WORKVEC_HOME")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    q = verbs.add_parser("list", help="bundles, label indexes and optimised graphs, with sizes")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=_list)
    q = verbs.add_parser("clear", help="delete cached things (all kinds unless --only)")
    q.add_argument("--only", action="append", choices=KINDS, help="clear only this kind (repeatable)")
    q.set_defaults(func=_clear)
