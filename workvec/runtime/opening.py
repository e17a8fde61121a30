"""What `TitleNormalizer.open` and `SkillExtractor.open` share: bundle, encoder, taxonomy and label index."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from workvec.errors import InputError
from workvec.runtime.encoder import Encoder, Precision, Providers
from workvec.runtime.labels import LabelIndex
from workvec.runtime.paths import default_bundle
from workvec.runtime.taxonomy import Taxonomy, load_taxonomy
from workvec.runtime.vector_index import IndexSpec

TaxonomyLike = str | os.PathLike | Taxonomy


def open_parts(
    bundle: str | os.PathLike | Encoder | None,
    *,
    kind: str,
    taxonomy: TaxonomyLike,
    include_alt: bool,
    precision: Precision,
    providers: Providers,
    threads: int | None,
    index_dir: str | os.PathLike | None,
    strict: bool,
    progress: bool | None,
) -> tuple[Encoder, LabelIndex]:
    """Open the bundle (the default one of `kind` when None; an open Encoder is used as it is, so that a
    bundle serving both tasks runs one session), the taxonomy and its cached label index."""
    if isinstance(bundle, Encoder):
        encoder, path = bundle, Path(bundle.info.bundle)
    else:
        path = default_bundle(kind) if bundle is None else Path(bundle)
        encoder = Encoder.open(path, precision=precision, providers=providers, threads=threads)
    if kind not in encoder.manifest.tasks:
        raise InputError(f"{path} is a {encoder.manifest.kind} bundle; this needs a {kind} bundle"
                         f" (workvec export MODEL --kind {kind} --out DIR)")
    tax = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
    spec = IndexSpec(threads=threads or 1)
    index = LabelIndex.open(encoder, tax, include_alt=include_alt, spec=spec, index_dir=index_dir, strict=strict,
                            progress=progress)
    return encoder, index


def reuse_encoder(bundle: str | os.PathLike | None, kind: str, opened: Iterable[Encoder]) -> Encoder | None:
    """One of the `opened` encoders when it runs the bundle that `bundle` (None: the default one of `kind`)
    names, so that a bundle serving both tasks runs one session; else None."""
    path = Path(bundle if bundle is not None else default_bundle(kind)).resolve()
    return next((e for e in opened if Path(e.info.bundle).resolve() == path), None)
