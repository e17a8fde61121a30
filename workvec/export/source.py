"""Find and describe the sentence-transformers model to export (local folder or hub id): its files, module
stack, trained max length and the languages it serves."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workvec.errors import ExportError
from workvec.export._deps import require

__all__ = ["HEAD_TYPES", "KNOWN_LANGUAGES", "KNOWN_MAX_SEQ_LENGTH", "ModelSource", "card_languages",
           "parse_languages", "resolve", "unused_files"]

# Models whose saved config disagrees with (or may not say) how they were trained: their model cards say 64
# tokens. JobBERT-v2's sentence_bert_config.json was seen saying 512; JobBERT-v3's (XLM-RoBERTa from
# paraphrase-multilingual-mpnet-base-v2, the same Asym anchor/positive Dense 768->1024 tanh head) says 64.
KNOWN_MAX_SEQ_LENGTH = {"TechWolf/JobBERT-v2": 64, "TechWolf/JobBERT-v3": 64}
# Languages of a known model, used when its folder has no model card that lists them (JobBERT-v3's card lists
# en, es, de, zh, mul, multilingual; the paper: English, German, Spanish and Chinese).
KNOWN_LANGUAGES = {"TechWolf/JobBERT-v2": ("en",), "TechWolf/JobBERT-v3": ("en", "es", "de", "zh")}
HEAD_TYPES = ("Asym", "Router")
MULTILINGUAL = "mul"  # ISO 639-2 "multiple languages": a card that says only `multilingual`
_CODE = re.compile(r"[a-z]{2}")


@dataclass(frozen=True)
class ModelSource:
    """A resolved model: where its files are and what its module stack holds."""

    spec: str
    path: Path
    revision: str | None
    module_types: tuple[str, ...]
    max_seq_length: int
    languages: tuple[str, ...] = ("en",)
    languages_from: str = "default"  # --languages, model card, known model or default

    def to_json(self) -> dict[str, Any]:
        """The manifest's `source` record."""
        return {"model": self.spec, "path": str(self.path), "revision": self.revision, "modules": list(self.module_types),
                "languages_from": self.languages_from}


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
        files = [s.rfilename for s in info.siblings or ()]
        path = hub.snapshot_download(spec, revision=info.sha, etag_timeout=10, ignore_patterns=unused_files(files))
    except Exception as exc:  # network, auth, not found
        raise ExportError(f"cannot fetch {spec!r} from the Hugging Face hub ({type(exc).__name__}: {exc}); {hint}") from exc
    return Path(path), info.sha


# Other formats of the same weights, which sentence-transformers does not read for torch: never downloaded.
OTHER_FORMATS = ("onnx/*", "openvino/*", "coreml/*", "*.onnx", "*.onnx_data", "*.h5", "*.msgpack", "*.ot", "*.gguf",
                 "tf_model*", "flax_model*", "rust_model*")


def unused_files(files: list[str]) -> list[str]:
    """snapshot_download's ignore_patterns for a repo holding `files`: OTHER_FORMATS, and a folder's
    pytorch_model.bin where the same folder has model.safetensors (transformers and sentence-transformers'
    Dense load the safetensors file first)."""
    safe = {f.rsplit("/", 1)[0] if "/" in f else "" for f in files if f.endswith("model.safetensors")}
    twins = [f for f in files if f.endswith("pytorch_model.bin") and (f.rsplit("/", 1)[0] if "/" in f else "") in safe]
    return [*OTHER_FORMATS, *twins]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExportError(f"cannot read {path}: {exc}") from exc


def resolve(spec: str | os.PathLike, max_seq_length: int | None = None,
            languages: tuple[str, ...] | None = None) -> ModelSource:
    """Resolve MODEL (a sentence-transformers directory or hub id) and read its module stack, max length and
    languages (`languages`: the caller's, else the model card's, else a known model's, else English)."""
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
    langs, origin = _languages(path, _known_model(path, text), languages)
    return ModelSource(text, path.resolve(), revision, types, _max_len(path, text, max_seq_length), langs, origin)


def _card(path: Path) -> str:
    card = path / "README.md"
    return card.read_text(encoding="utf-8", errors="replace") if card.is_file() else ""


def _known_model(path: Path, spec: str) -> str | None:
    """The hub id of a known model: given directly, in a hub-cache path, or named by the folder's model card (the
    id its usage snippet loads, `SentenceTransformer("TechWolf/JobBERT-v3")`, first: a card may cite others)."""
    for model_id in KNOWN_MAX_SEQ_LENGTH:
        if spec == model_id or f"models--{model_id.replace('/', '--')}" in str(path):
            return model_id
    card = _card(path)
    loaded = set(re.findall(r"""SentenceTransformer\(\s*["']([^"']+)["']""", card))
    named = [m for m in KNOWN_MAX_SEQ_LENGTH if m in loaded] or [m for m in KNOWN_MAX_SEQ_LENGTH if m in card]
    return min(named, key=card.find) if named else None


def parse_languages(value: str | list | tuple) -> tuple[str, ...]:
    """`en,de,es` (or a list) as ISO 639-1 codes, lower case, in order, once each; `mul` for "many"."""
    items = value.split(",") if isinstance(value, str) else list(value)
    codes = [str(item).strip().lower() for item in items if str(item).strip()]
    bad = [c for c in codes if not _CODE.fullmatch(c) and c != MULTILINGUAL]
    if bad or not codes:
        what = f"{', '.join(map(repr, bad))} is not an ISO 639-1 code" if bad else "no language given"
        raise ExportError(f"--languages {value!r}: {what}; give two-letter codes separated by commas, e.g. en,de,es,zh")
    return tuple(dict.fromkeys(codes))


def card_languages(card: str) -> tuple[str, ...]:
    """The `language:` of a model card's YAML front matter (a code, an inline list or a block list): its ISO
    639-1 codes, or ("mul",) when it says only `multilingual` / `mul`; () when the card lists none."""
    if not card.startswith("---"):
        return ()
    front = card[3:].split("\n---", 1)[0]
    match = re.search(r"^language:[ \t]*(.*)$((?:\n[ \t]*-[^\n]*)*)", front, re.MULTILINE)
    if match is None:
        return ()
    inline, block = match.group(1).strip(), match.group(2)
    items = re.findall(r"-[ \t]*([^\n]+)", block) if not inline else inline.strip("[]").split(",")
    codes = [item.strip().strip("'\"").lower() for item in items]
    found = tuple(dict.fromkeys(c for c in codes if _CODE.fullmatch(c)))
    return found or ((MULTILINGUAL,) if {"mul", "multilingual"} & set(codes) else ())


def _languages(path: Path, known: str | None, given: tuple[str, ...] | None) -> tuple[tuple[str, ...], str]:
    """(languages, where they came from)."""
    if given:
        return parse_languages(given), "--languages"
    found = card_languages(_card(path))
    if found:
        return found, "model card"
    if known in KNOWN_LANGUAGES:
        return KNOWN_LANGUAGES[known], "known model"
    return ("en",), "default"


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
