"""`Engine`: the bundles a service has loaded and the batch operations its batcher runs.

Operations are batch keys: ("embed", kind), ("normalize", NormalizeSettings), ("extract", ExtractSettings),
with resolved settings (workvec.runtime.settings). A batch holds texts of one key only and runs the runtime's
own model step (`TitleNormalizer.search`, `SkillExtractor.run`), whose results never depend on the batch, so
every text gets exactly what `workvec normalize` / `workvec extract` give it alone.
"""

from __future__ import annotations

import platform
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import workvec
from workvec.runtime.opening import reuse_encoder
from workvec.serve.settings import ServeSettings

__all__ = ["Engine", "UnknownModel"]



class UnknownModel(LookupError):
    """A request names a bundle or taxonomy this service has not loaded."""


@dataclass(frozen=True)
class _Side:
    kind: str
    matcher: object  # TitleNormalizer | SkillExtractor
    encoder: object
    taxonomy: object

    def names(self) -> tuple[str, ...]:
        """What `model` may say to mean this side's bundle."""
        return (self.kind, Path(self.encoder.info.bundle).resolve().name)


class Engine:
    """Load the title and skill sides once; run batches of one operation on the inference thread."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self.sides: dict[str, _Side] = {}
        if settings.load_titles:
            self.sides["title"] = self._open("title", settings.title_bundle, settings.titles_taxonomy)
        if settings.load_skills:
            self.sides["skill"] = self._open("skill", settings.skill_bundle, settings.skills_taxonomy)

    def _open(self, kind: str, bundle: str | None, taxonomy: str) -> _Side:
        s = self.settings
        opener = workvec.TitleNormalizer.open if kind == "title" else workvec.SkillExtractor.open
        shared = reuse_encoder(bundle, kind, [side.encoder for side in self.sides.values()])
        matcher = opener(shared or bundle, taxonomy=taxonomy, precision=s.precision, threads=s.threads,
                         index_dir=s.index_dir)
        return _Side(kind, matcher, matcher.encoder, matcher.labels.taxonomy)

    # -- lookups ---------------------------------------------------------------------------------------
    def matcher(self, kind: str):
        """The loaded TitleNormalizer ("title") or SkillExtractor ("skill")."""
        if kind not in self.sides:
            raise UnknownModel(f"this service has no {kind} bundle loaded; start it with --{kind}-bundle")
        return self.sides[kind].matcher

    def model(self, name: str | None) -> _Side:
        """The side a /v1/embeddings `model` names (a kind, or a bundle folder name); None: the title side,
        else the only one loaded."""
        if name is None:
            return self.sides.get("title") or next(iter(self.sides.values()))
        for side in self.sides.values():
            if name in side.names():
                return side
        known = sorted(n for side in self.sides.values() for n in side.names())
        raise UnknownModel(f"model {name!r} is not loaded; use one of {known}")

    # -- token counts (on the event loop: tokenization only) -------------------------------------------
    def count_tokens(self, kind: str, texts: Sequence[str]) -> list[int]:
        """Tokens per text under `kind`'s tokenizer, after truncation."""
        return [int(n) for n in self.sides[kind].encoder.count_tokens(texts)]

    # -- batch operations (on the inference thread) ----------------------------------------------------
    def run(self, key: Hashable, texts: list) -> Sequence:
        """Results for one batch of texts that share `key`, in order."""
        op, option = key
        if op == "embed":
            return list(self.sides[option].encoder.encode(texts, batch_size=len(texts)))
        if op == "normalize":
            return self.sides["title"].matcher.run(texts, option)
        if op == "extract":
            return self.sides["skill"].matcher.run(texts, option)
        raise ValueError(f"unknown operation {op!r}")

    # -- /info ----------------------------------------------------------------------------------------
    def info(self) -> dict:
        """Bundles, parity, versions and taxonomy hashes."""
        import onnxruntime

        sides = {}
        for kind, side in self.sides.items():
            enc, manifest = side.encoder, side.encoder.manifest
            sides[kind] = {
                "model": side.names()[1],
                "bundle_identity": manifest.identity(),
                "precision": enc.info.precision,
                "dim": enc.info.dim,
                "max_seq_length": enc.info.max_seq_length,
                "source": manifest.source.get("model") if isinstance(manifest.source, dict) else None,
                "parity": manifest.parity,
                "taxonomy": {"name": side.taxonomy.name, "sha256": side.taxonomy.sha256,
                             "concepts": len(side.taxonomy.concepts)},
                "labels": len(side.matcher.labels.labels),
            }
        return {
            "sides": sides,
            "versions": {"workvec": workvec.__version__, "onnxruntime": onnxruntime.__version__,
                         "numpy": np.__version__, "python": platform.python_version()},
        }
