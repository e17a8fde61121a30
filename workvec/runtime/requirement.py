"""The requirement-sentence filter: does a job-ad sentence state a skill or knowledge requirement at all?

A logistic regression on the sentence vector the skill bundle already computes (the mean of the sentence's
token vectors, special tokens included, L2-normalised: the bundle's own mean pooling, so no second model
run). Trained by scripts/train_requirement_filter.py on SkillSpan train (any skill or knowledge span vs none),
threshold chosen on SkillSpan dev. Sentences below the threshold are reported as skipped
(`"skipped": "no requirement"`), never dropped silently.

A filter is tied to the encoder it was trained on: its file records the sha256 of the bundle's fp32 model
(`model.onnx`, which the int8 model is quantized from) and holds one weight set per precision (int8 vectors
differ slightly from fp32 ones). `RequirementFilter.for_encoder` refuses any other encoder with
`RequirementFilterError`; the file's own sha256 (over its canonical JSON payload) is checked on load.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workvec.errors import WorkvecError

__all__ = ["RequirementFilter", "RequirementFilterError", "SKIPPED", "FILTER_FILE", "find_filter", "packaged_path", "requirement_for",
           "sentence_features", "payload_sha256"]

FILTER_FILE = "requirement-filter.json"  # looked up next to the bundle first, then in the package data
PACKAGE_DATA = Path(__file__).with_name("data")  # packaged filters: requirement-<model sha256[:12]>.json
SKIPPED = "no requirement"
FORMAT = 1


class RequirementFilterError(WorkvecError):
    """A requirement filter that is unreadable, altered, or trained for another encoder."""


def payload_sha256(payload: dict) -> str:
    """sha256 of the canonical JSON of a filter payload (everything but the `sha256` field)."""
    body = json.dumps({k: v for k, v in payload.items() if k != "sha256"}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def sentence_features(token_vectors: list[np.ndarray]) -> np.ndarray:
    """(n, d) float32: each sentence's mean token vector, L2-normalised (zeros for an empty sentence)."""
    if not token_vectors:
        return np.zeros((0, 0), np.float32)
    dim = token_vectors[0].shape[1]
    out = np.zeros((len(token_vectors), dim), np.float32)
    for i, tokens in enumerate(token_vectors):
        if len(tokens):
            out[i] = tokens.mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, norms, out=np.zeros_like(out), where=norms > 1e-12)


@dataclass(frozen=True)
class RequirementFilter:
    """One precision's weights of a filter file: P(requirement) = sigmoid(x . weights + bias)."""

    path: str
    model_sha256: str
    precision: str
    weights: np.ndarray
    bias: float
    threshold: float
    sha256: str

    @classmethod
    def load(cls, path: str | Path, precision: str) -> RequirementFilter:
        """The `precision` weights of a filter file; raises RequirementFilterError when it is unreadable,
        altered (sha256 mismatch) or has no weights for that precision."""
        payload = _read(Path(path))
        entry = payload["models"].get(precision)
        if entry is None:
            raise RequirementFilterError(
                f"{path}: no {precision} weights (has {', '.join(sorted(payload['models']))}); "
                "retrain with scripts/train_requirement_filter.py or pass --no-requirement-filter")
        return cls(str(path), payload["encoder"]["model_sha256"], precision,
                   np.asarray(entry["weights"], dtype=np.float32), float(entry["bias"]), float(entry["threshold"]),
                   payload["sha256"])

    @classmethod
    def for_encoder(cls, encoder, path: str | Path | None = None) -> RequirementFilter:
        """The filter for this encoder: `path`, else the bundle's own file, else a packaged one with the same
        model hash. Raises RequirementFilterError when none exists or `path` was trained for another model."""
        found = Path(path) if path is not None else find_filter(encoder)
        if found is None:
            raise RequirementFilterError(
                f"no requirement filter trained for the bundle {encoder.info.bundle} (model sha256 "
                f"{_model_sha256(encoder)[:12]}); train one with scripts/train_requirement_filter.py or pass "
                "--no-requirement-filter")
        loaded = cls.load(found, encoder.info.precision)
        loaded.check(encoder)
        return loaded

    def check(self, encoder) -> None:
        """Raise RequirementFilterError unless this filter was trained on `encoder`'s model and precision."""
        sha = _model_sha256(encoder)
        if sha != self.model_sha256:
            raise RequirementFilterError(
                f"{self.path} was trained for the model with sha256 {self.model_sha256[:12]}, not this bundle's "
                f"{sha[:12]} ({encoder.info.bundle}); train one for it (scripts/train_requirement_filter.py) or "
                "pass --no-requirement-filter")
        if encoder.info.precision != self.precision:
            raise RequirementFilterError(
                f"{self.path}: these are {self.precision} weights; the encoder runs {encoder.info.precision}")
        if self.weights.shape != (encoder.token_dim or encoder.dim,):
            raise RequirementFilterError(f"{self.path}: {self.weights.shape[0]} weights for a "
                                         f"{encoder.token_dim or encoder.dim}-wide encoder")

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(n,) P(requirement) of `sentence_features` rows."""
        logits = np.asarray(features, np.float32) @ self.weights + np.float32(self.bias)
        return (1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))).astype(np.float32)

    def keep(self, token_vectors: list[np.ndarray]) -> np.ndarray:
        """(n,) bool: which sentences (given their token vectors) state a requirement."""
        if not token_vectors:
            return np.zeros(0, bool)
        return self.probabilities(sentence_features(token_vectors)) >= self.threshold


def requirement_for(encoder, *, enabled: bool = True, path: str | Path | None = None) -> RequirementFilter | None:
    """The filter `extract` uses: None when disabled; `path` (refused unless trained for this encoder); else the
    one trained for the bundle's model, or None (with a warning) when no such filter exists (a model workvec
    ships no filter for, e.g. an exported ConTeXT-match model: train one with scripts/train_requirement_filter.py)."""
    if not enabled:
        return None
    if path is None and find_filter(encoder) is None:
        warnings.warn(f"no requirement filter trained for {encoder.info.bundle}; scoring every sentence "
                      "(train one with scripts/train_requirement_filter.py)", stacklevel=2)
        return None
    return RequirementFilter.for_encoder(encoder, path)


def find_filter(encoder) -> Path | None:
    """The bundle's own filter file, else the first packaged filter trained on the same model."""
    own = Path(encoder.info.bundle) / FILTER_FILE
    if own.is_file():
        return own
    sha = _model_sha256(encoder)
    for candidate in sorted(PACKAGE_DATA.glob("requirement-*.json")):
        try:
            if json.loads(candidate.read_text(encoding="utf-8"))["encoder"]["model_sha256"] == sha:
                return candidate
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def packaged_path(model_sha256: str) -> Path:
    """Where the package keeps the filter of the model with this sha256."""
    return PACKAGE_DATA / f"requirement-{model_sha256[:12]}.json"


def _model_sha256(encoder) -> str:
    """The sha256 of the bundle's fp32 model (what the int8 one is quantized from)."""
    sha = encoder.manifest.model_sha256
    if sha is None:
        raise RequirementFilterError(f"{encoder.info.bundle}: the manifest names no fp32 model; re-export the bundle")
    return sha


def _read(path: Path) -> dict:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RequirementFilterError(f"{path}: unreadable requirement filter ({exc}); retrain it or pass "
                                     "--no-requirement-filter") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or "models" not in payload:
        raise RequirementFilterError(f"{path}: not a format-{FORMAT} requirement filter file")
    if payload_sha256(payload) != payload.get("sha256"):
        raise RequirementFilterError(f"{path}: sha256 mismatch (the file was altered); retrain it with "
                                     "scripts/train_requirement_filter.py")
    return payload
