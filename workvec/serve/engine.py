"""`Engine`: the bundles a service has loaded and the batch operations its batcher runs.

Operations are batch keys: ("embed", model), ("normalize", k), ("extract", threshold, k). A batch holds
texts of one key only, so every text in it gets the same treatment as it would alone.
"""

from __future__ import annotations

import platform
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import workvec
from workvec.runtime.opening import reuse_encoder
from workvec.runtime.skills import ExtractSettings, SkillExtractor
from workvec.runtime.title_answer import no_match_floor
from workvec.serve.settings import ServeSettings

__all__ = ["Engine", "UnknownModel"]


# Operations on pooled sentence vectors. onnxruntime's pooling reduction sums in another order for a batch
# of one than for two or more rows of the same length (measured: 18 of 36 MiniLM titles differ in the last
# bits alone vs in a batch; 0 of 36 as a pair), so a lone text runs as a pair: then its result is the same
# in any batch the batcher forms (equal lengths, 2..64 rows).
POOLED = ("embed", "normalize")


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
        self._extractors: dict[tuple[float, int], object] = {}
        title = self.sides.get("title")
        # the title side's calibrated no-match floor (None: not calibrated for this model and taxonomy)
        self.title_floor = no_match_floor(title.encoder, title.taxonomy.name) if title else None

    def _open(self, kind: str, bundle: str | None, taxonomy: str) -> _Side:
        s = self.settings
        opener = workvec.TitleNormalizer.open if kind == "title" else workvec.SkillExtractor.open
        shared = reuse_encoder(bundle, kind, [side.encoder for side in self.sides.values()])
        matcher = opener(shared or bundle, taxonomy=taxonomy, precision=s.precision, threads=s.threads,
                         index_dir=s.index_dir)
        return _Side(kind, matcher, matcher.encoder, matcher.labels.taxonomy)

    # -- lookups ---------------------------------------------------------------------------------------
    def side(self, kind: str, taxonomy: str | None = None) -> _Side:
        """The loaded side of `kind`, checking a requested taxonomy name against the loaded one."""
        if kind not in self.sides:
            raise UnknownModel(f"this service has no {kind} bundle loaded; start it with --{kind}-bundle")
        side = self.sides[kind]
        if taxonomy is not None and taxonomy != side.taxonomy.name:
            raise UnknownModel(f"taxonomy {taxonomy!r} is not loaded; this service serves {side.taxonomy.name!r}"
                               f" for {kind}s (restart with --{kind}s-taxonomy {taxonomy})")
        return side

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

    def sentences(self, text: str) -> list:
        """The sentence spans extraction scores."""
        return workvec.split_sentences(text)

    # -- batch operations (on the inference thread) ----------------------------------------------------
    def run(self, key: Hashable, texts: list) -> Sequence:
        """Results for one batch of texts that share `key`, in order."""
        op = key[0]
        if op in POOLED and len(texts) == 1:  # run as two rows: a pooled vector's bits differ at batch 1
            return self.run(key, texts * 2)[:1]
        if op == "embed":
            encoder = self.sides[key[1]].encoder
            return list(encoder.encode(texts, batch_size=len(texts)))
        if op == "normalize":
            return self.sides["title"].matcher.normalize(texts, k=key[1])
        if op == "extract":
            return self._extractor(key[1], key[2]).extract_sentences(texts)
        raise ValueError(f"unknown operation {op!r}")

    def _extractor(self, threshold: float, k: int):
        if (threshold, k) not in self._extractors:
            base = self.sides["skill"].matcher
            settings = ExtractSettings(threshold=threshold, k=k, exact=base.settings.exact)
            self._extractors[(threshold, k)] = SkillExtractor(base.encoder, base.labels, settings)
        return self._extractors[(threshold, k)]

    def default_threshold(self) -> float:
        """The skill side's threshold when a request names none."""
        return self.sides["skill"].matcher.settings.threshold

    def merge(self, spans: list, per_sentence: list) -> list:
        """One ad's matches from its sentences' (what extract returns for the whole ad)."""
        return workvec.merge_sentences(spans, per_sentence)

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
