"""The bundle manifest (`workvec.json`): what a bundle holds and how to check it."""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from workvec.errors import BundleError
from workvec.runtime.hashing import sha256_file, sha256_json

MANIFEST_NAME = "workvec.json"
FORMAT_VERSION = 1
KINDS = ("title", "skill")
MODEL_FILES = {"fp32": "model.onnx", "int8": "model.int8.onnx"}
TOKENIZER_FILE = "tokenizer.json"


@dataclass(frozen=True)
class Manifest:
    """The parsed `workvec.json` of a bundle."""

    kind: str
    source: dict[str, Any]
    branch: str | None
    outputs: dict[str, int]
    max_seq_length: int
    pooling: str
    normalize: bool
    opset: int
    quantization: dict[str, Any]
    files: dict[str, dict[str, Any]]
    parity: dict[str, Any]
    pad_id: int = 0
    format_version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise BundleError(f"manifest kind {self.kind!r} is not one of {KINDS}; re-export the bundle")
        if self.format_version != FORMAT_VERSION:
            raise BundleError(
                f"bundle format {self.format_version} is not supported by this workvec (wants {FORMAT_VERSION});"
                " re-export it with `workvec export`"
            )

    @property
    def tasks(self) -> tuple[str, ...]:
        """The tasks this bundle serves: its kind, plus those listed under `tasks` (a skill bundle trained for
        titles too, like the shipped default, serves both from one model)."""
        listed = self.extra.get("tasks") or ()
        return tuple(dict.fromkeys([self.kind, *[t for t in listed if t in KINDS]]))

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages the model serves (ISO 639-1, `languages` in the manifest); a bundle that does not say
        is English-only, as every model workvec exported before multilingual exports (workvec.runtime.language)."""
        return tuple(self.extra.get("languages") or ("en",))

    @property
    def model_sha256(self) -> str | None:
        """sha256 of the fp32 model the bundle was exported as (what its int8 model is quantized from): the
        key of everything calibrated per model. Shipped int8-only bundles record it as `source_fp32_sha256`."""
        record = self.files.get(MODEL_FILES["fp32"])
        return str(record["sha256"]) if record else self.extra.get("source_fp32_sha256")

    @property
    def dim(self) -> int:
        """Width of the `sentence_embedding` output."""
        return int(self.outputs["sentence_embedding"])

    def to_json(self) -> dict[str, Any]:
        """The manifest as a JSON-ready dict."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "extra"}
        data.update(self.extra)
        return data

    def write(self, directory: Path) -> Path:
        """Write `workvec.json` into `directory`."""
        path = Path(directory) / MANIFEST_NAME
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path

    def identity(self) -> str:
        """What the bundle computes, as a hash: its files' sha256 and the settings that shape its outputs.
        Timings, absolute paths and the parity report are left out, so a byte-identical re-export keeps it."""
        return sha256_json({
            "kind": self.kind, "branch": self.branch, "outputs": self.outputs, "max_seq_length": self.max_seq_length,
            "pooling": self.pooling, "normalize": self.normalize, "pad_id": self.pad_id,
            "format_version": self.format_version, "files": {k: v["sha256"] for k, v in sorted(self.files.items())},
        })

    @classmethod
    def open(cls, bundle: str | Path) -> Manifest:
        """Parse `BUNDLE/workvec.json` (see `read_manifest`)."""
        return read_manifest(bundle)


def read_manifest(directory: str | Path) -> Manifest:
    """Parse `DIR/workvec.json`, with an error naming the fix when it is absent or broken."""
    directory = Path(directory)
    if not directory.exists():
        raise BundleError(f"bundle directory {directory} does not exist; create it with `workvec export MODEL --out {directory}`")
    if not directory.is_dir():
        raise BundleError(f"{directory} is a file, not a bundle directory; pass the directory `workvec export` wrote")
    path = directory / MANIFEST_NAME
    if not path.is_file():
        raise BundleError(
            f"{directory} has no {MANIFEST_NAME}, so it is not a workvec bundle (or its export failed the parity gate);"
            f" create one with `workvec export MODEL --out {directory}`"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path} is not valid JSON ({exc}); re-export the bundle") from exc
    known = set(Manifest.__dataclass_fields__) - {"extra"}
    required = {f.name for f in fields(Manifest) if f.default is MISSING and f.default_factory is MISSING}
    missing = sorted(required - set(data))
    if missing:
        raise BundleError(f"{path} lacks the keys {missing}; re-export the bundle")
    extra = {k: v for k, v in data.items() if k not in known}
    return Manifest(**{k: v for k, v in data.items() if k in known}, extra=extra)


def verify_files(directory: Path, manifest: Manifest, names: list[str], full: bool = True) -> None:
    """Check that each named file exists with the recorded size (and sha256 when `full`)."""
    for name in names:
        record = manifest.files.get(name)
        if record is None:
            raise BundleError(f"{name} is not listed in {directory / MANIFEST_NAME}; re-export the bundle")
        path = directory / name
        if not path.is_file():
            raise BundleError(f"bundle file {path} is missing; re-export the bundle with `workvec export`")
        size = path.stat().st_size
        if size != record["bytes"]:
            raise BundleError(
                f"bundle file {path} has {size} bytes, the manifest says {record['bytes']} (truncated or replaced);"
                " re-export the bundle"
            )
        if full and sha256_file(path) != record["sha256"]:
            raise BundleError(f"bundle file {path} was altered (sha256 differs from the manifest); re-export the bundle")


def file_record(path: Path) -> dict[str, Any]:
    """The manifest's record of one file: size and sha256."""
    return {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
