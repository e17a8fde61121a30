"""Bridges to the runtime's matching API (one place to adapt when the facade changes)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from workvec.errors import InputError


def open_matcher(kind: str, bundle: str | None, *, taxonomy: str, precision: str, threads: int | None,
                 index_dir: str | None):
    """A TitleNormalizer or SkillExtractor with its encoder and label index."""
    from workvec.defaults import default_bundle
    from workvec.runtime.encoder import Encoder
    from workvec.runtime.labels import LabelIndex
    from workvec.runtime.skills import SkillExtractor
    from workvec.runtime.taxonomy import load_taxonomy
    from workvec.runtime.titles import TitleNormalizer
    from workvec.runtime.vector_index import IndexSpec

    path = Path(bundle) if bundle else default_bundle(kind)
    if not path.exists():
        raise InputError(f"the {kind} bundle {path} does not exist; pass --{kind}-bundle DIR or create the"
                         " defaults with `workvec demo`")
    encoder = Encoder.load(path, precision=precision, threads=threads)
    labels = LabelIndex.open(encoder, load_taxonomy(taxonomy), index_dir, include_alt=kind == "title",
                             spec=IndexSpec(mode="auto", threads=1), progress=sys.stderr.isatty())
    return (TitleNormalizer if kind == "title" else SkillExtractor)(encoder, labels)


def count_tokens(encoder, texts: Sequence[str]) -> np.ndarray:
    if hasattr(encoder, "count_tokens"):
        return encoder.count_tokens(texts)
    return np.fromiter((len(e.ids) for e in encoder._tokenizer.encode_batch(list(texts))), dtype=np.int64)


def split_sentences(text: str) -> list:
    from workvec.runtime.sentences import split_sentences as split

    return split(text)


def with_settings(extractor, threshold: float, k: int):
    from workvec.runtime.skills import ExtractSettings, SkillExtractor

    return SkillExtractor(extractor.encoder, extractor.labels, ExtractSettings(threshold=threshold, top_k=k))


def threshold_of(extractor) -> float:
    return extractor.settings.threshold


def extract_sentences(extractor, sentences: list[str]) -> list[list]:
    if hasattr(extractor, "extract_sentences"):
        return extractor.extract_sentences(sentences)
    return [[m for m, _ in extractor._extract_chunk([s])] for s in sentences]


def merge_sentences(spans: list, per_sentence: list[list]) -> list:
    import workvec

    if hasattr(workvec, "merge_sentences"):
        return workvec.merge_sentences(spans, per_sentence)
    best: dict[str, object] = {}
    for matches in per_sentence:
        for m in matches:
            if m.id not in best or m.score > best[m.id].score:
                best[m.id] = m
    return sorted(best.values(), key=lambda m: -m.score)
