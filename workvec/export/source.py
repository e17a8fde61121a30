"""Find and describe the sentence-transformers model to export (local folder or hub id)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workvec.errors import ExportError
from workvec.export._deps import require

# Models whose saved config disagrees with how they were trained (see the model card).
KNOWN_MAX_SEQ_LENGTH = {"TechWolf/JobBERT-v2": 64}
HEAD_TYPES = ("Asym", "Router")


@dataclass(frozen=True)
class ModelSource:
    """A resolved model: where its files are and what its module stack holds."""

    spec: str
    path: Path
    revision: str | None
    module_types: tuple[str, ...]
    max_seq_length: int

    def to_json(self) -> dict[str, Any]:
        """The manifest's `source` record."""
        return {"model": self.spec, "path": str(self.path), "revision": self.revision, "modules": list(self.module_types)}


def _offline() -> bool:
    return any(os.environ.get(v, "") not in ("", "0", "false") for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _download(spec: str) -> tuple[Path, str | None]:
    """Fetch a hub model; fail fast with the local-path alternative when offline."""
    hub = require("huggingface_hub")
    hint = f"download it elsewhere (e.g. `huggingface-cli download {spec} --local-dir DIR`) and pass DIR"
    if _offline():
        raise ExportError(f"{spec!r} is not a local directory and the hub is offline (HF_HUB_OFFLINE); {hint}")
    try:
        info = hub.model_info(spec, timeout=10)
        path = hub.snapshot_download(spec, revision=info.sha, etag_timeout=10)
    except Exception as exc:  # network, auth, not found
        raise ExportError(f"cannot fetch {spec!r} from the Hugging Face hub ({type(exc).__name__}: {exc}); {hint}") from exc
    return Path(path), info.sha


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExportError(f"cannot read {path}: {exc}") from exc


def resolve(spec: str | os.PathLike, max_seq_length: int | None = None) -> ModelSource:
    """Resolve MODEL (a sentence-transformers directory or hub id) and read its module stack."""
    text = str(spec)
    path = Path(text).expanduser()
    revision = None
    if not path.exists():
        looks_local = text.startswith((".", "/", "~")) or text.count("/") != 1
        if looks_local:
            raise ExportError(f"model path {text!r} does not exist; pass a sentence-transformers directory or a hub id like TechWolf/JobBERT-v2")
        path, revision = _download(text)
    if not path.is_dir():
        raise ExportError(f"{path} is a file; pass the sentence-transformers model directory that holds modules.json")
    modules_file = path / "modules.json"
    if not modules_file.is_file():
        raise ExportError(
            f"{path} is not a sentence-transformers model (no modules.json); pass the folder saved by"
            " SentenceTransformer.save() or a hub id"
        )
    modules = _read_json(modules_file)
    types = tuple(m.get("type", "").rsplit(".", 1)[-1] for m in modules)
    if not types or types[0] != "Transformer":
        raise ExportError(f"{path}: the first module is {types[:1]}, workvec exports Transformer-based models only")
    if "Pooling" not in types:
        raise ExportError(f"{path}: no Pooling module; workvec needs a pooled sentence embedding")
    return ModelSource(text, path.resolve(), revision, types, _max_len(path, text, max_seq_length))


def _known_model(path: Path, spec: str) -> str | None:
    """The hub id of a known model: given directly, in a hub-cache path, or named by the folder's model card."""
    for model_id in KNOWN_MAX_SEQ_LENGTH:
        if spec == model_id or f"models--{model_id.replace('/', '--')}" in str(path):
            return model_id
        card = path / "README.md"
        if card.is_file() and model_id in card.read_text(encoding="utf-8", errors="replace")[:4000]:
            return model_id
    return None


def _max_len(path: Path, spec: str, override: int | None) -> int:
    """The override, else a known model's trained length, else sentence_bert_config.json, else 512."""
    if override is not None:
        if override < 2:
            raise ExportError(f"--max-seq-length must be >= 2 (got {override})")
        return override
    known = _known_model(path, spec)
    if known:
        return KNOWN_MAX_SEQ_LENGTH[known]
    config = path / "sentence_bert_config.json"
    if config.is_file():
        value = _read_json(config).get("max_seq_length")
        if value:
            return int(value)
    # sentence-transformers 5.x no longer writes max_seq_length there; it saves it as the tokenizer's length.
    tok_config = path / "tokenizer_config.json"
    if tok_config.is_file():
        value = _read_json(tok_config).get("model_max_length")
        if isinstance(value, (int, float)) and 2 <= value <= 100_000:  # HF writes ~1e30 for "no limit"
            return int(value)
    return 512
