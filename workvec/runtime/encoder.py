"""`Encoder`: run an exported bundle with onnxruntime alone (no torch)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Union, get_args

import numpy as np

from workvec.errors import BundleError, InputError
from workvec.runtime.manifest import MODEL_FILES, TOKENIZER_FILE, Manifest, read_manifest, verify_files
from workvec.runtime import graph_cache
from workvec.runtime.cpu import int8_weight_problem
from workvec.runtime.session import CPU, create_session, resolve_providers
from workvec.runtime.tokenizer import char_offsets, check_texts, is_truncated, iter_batches, load_tokenizer, tokenize

Precision = Literal["auto", "int8", "fp32"]
Providers = Union[Literal["auto", "cpu", "cuda"], Sequence[str]]
PRECISIONS: tuple[str, ...] = get_args(Precision)


@dataclass(frozen=True)
class EncoderInfo:
    """What an Encoder actually runs: for logs, benchmarks and index sidecars."""

    bundle: str
    precision: str
    providers: tuple[str, ...]
    threads: int | None
    dim: int
    max_seq_length: int


@dataclass(frozen=True)
class TokenEncoding:
    """One text's token vectors (special tokens kept, padding removed), their character spans in the text
    ((0, 0) for special tokens) and whether the text was cut at the bundle's max_seq_length."""

    vectors: np.ndarray
    offsets: np.ndarray
    truncated: bool


# How texts are batched, part of every label index key: a text's vector must not depend on its neighbours.
# Batches hold texts of one token length only (padding changes pooled sums in the last bits), and a pooled
# batch of one row runs as two copies of it (onnxruntime's pooling reduction sums in another order for one row:
# 18 of 36 MiniLM titles differ in the last bits alone vs in a batch; 0 of 36 as a pair). Then a text's vector
# is bit-identical in any batch, whichever door (CLI, Python, HTTP, corpus job) sent it. Grouping by length
# costs nothing measurable on sentences (65 ad sentences, shipped model int8: 0.91x the padded time).
BATCHING = "exact-length-pairs-1"


class Encoder:
    """Encode texts with a workvec bundle: `encode` for sentence vectors, `encode_tokens` for token vectors.
    A text's result never depends on the texts encoded with it (`BATCHING`). Safe to call from several threads
    (nothing shared is mutated after `open`)."""

    def __init__(self, directory: Path, manifest: Manifest, session, tokenizer, info: EncoderInfo) -> None:
        self.directory = directory
        self.manifest = manifest
        self.info = info
        self._session = session
        self._tokenizer = tokenizer
        self._inputs = [i.name for i in session.get_inputs()]
        self._outputs = [o.name for o in session.get_outputs()]

    @classmethod
    def open(
        cls,
        bundle: str | Path,
        *,
        precision: Precision = "auto",
        providers: Providers = "auto",
        threads: int | None = None,
        verify: bool = True,
    ) -> Encoder:
        """Open a bundle. `precision="auto"` is int8 on CPU and fp32 on CUDA; `verify` checks the sha256 of the
        files it uses (the model's once per file state on CPU, see `graph_cache`)."""
        if precision not in PRECISIONS:
            raise InputError(f"precision {precision!r} is not one of {PRECISIONS}")
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise InputError(f"threads must be a positive integer (got {threads!r}); leave it None for the default")
        directory, requested = Path(bundle), precision
        manifest = read_manifest(directory)
        chosen = resolve_providers(providers)
        if precision == "auto":
            precision = "int8" if chosen[0] == CPU and MODEL_FILES["int8"] in manifest.files else "fp32"
        if precision == "int8" and chosen[0] == CPU:
            precision = _int8_or_fp32(directory, manifest, explicit=requested == "int8")
        model_file = MODEL_FILES[precision]
        if model_file not in manifest.files:
            other = "int8" if precision == "fp32" else "fp32"
            how = "exported with --quantize none?" if precision == "int8" else "an int8-only bundle"
            raise BundleError(f"{directory} has no {precision} model ({how}); open it with precision='{other}'")
        verify_files(directory, manifest, [TOKENIZER_FILE], full=verify)
        tokenizer = load_tokenizer(directory / TOKENIZER_FILE, manifest.max_seq_length)
        session = _open_session(directory, manifest, model_file, chosen, threads, verify)
        info = EncoderInfo(
            bundle=str(directory),
            precision=precision,
            providers=tuple(session.get_providers()),
            threads=threads,
            dim=manifest.dim,
            max_seq_length=manifest.max_seq_length,
        )
        return cls(directory, manifest, session, tokenizer, info)

    @property
    def dim(self) -> int:
        """Width of sentence vectors."""
        return self.manifest.dim

    @property
    def token_dim(self) -> int:
        """Width of token vectors (skill bundles only)."""
        return int(self.manifest.outputs.get("token_embeddings", 0))

    def count_tokens(self, texts: Sequence[str]) -> np.ndarray:
        """Tokens per text after truncation, special tokens included (what a batch of them costs)."""
        return np.fromiter((len(e.ids) for e in tokenize(self._tokenizer, check_texts(texts))), dtype=np.int64)

    def _run(self, encodings: list, batch_size: int, output: str):
        """Yield (batch, output array) per batch of texts of one token length (`BATCHING`)."""
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer (got {batch_size!r})")
        if output not in self._outputs:
            raise BundleError(f"this bundle ({self.manifest.kind}) has no {output!r} output; export with --kind skill")
        for batch in iter_batches(encodings, batch_size, self.manifest.pad_id, exact=True):
            feeds = batch.feeds(self._inputs)
            if output == "sentence_embedding" and len(batch.order) == 1:  # pooled: one row runs as a pair
                feeds = {name: np.repeat(value, 2, axis=0) for name, value in feeds.items()}
            (out,) = self._session.run([output], feeds)
            yield batch, out[: len(batch.order)]

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """(n, dim) float32 sentence vectors, in input order. Texts over max_seq_length tokens are truncated."""
        encodings = tokenize(self._tokenizer, check_texts(texts))
        result = np.zeros((len(encodings), self.dim), dtype=np.float32)
        for batch, out in self._run(encodings, batch_size, "sentence_embedding"):
            result[batch.order] = out
        return result

    def encode_tokens(self, texts: Sequence[str], *, batch_size: int = 32) -> list[TokenEncoding]:
        """Per text, its token vectors, token character spans in it (`char_offsets`) and truncation flag, from one
        tokenization."""
        texts = check_texts(texts)
        encodings = tokenize(self._tokenizer, texts)
        vectors: list[np.ndarray] = [np.zeros((0, self.token_dim), np.float32)] * len(encodings)
        for batch, out in self._run(encodings, batch_size, "token_embeddings"):
            for row, (i, n) in enumerate(zip(batch.order, batch.lengths)):
                vectors[int(i)] = np.ascontiguousarray(out[row, : int(n)], dtype=np.float32)
        return [TokenEncoding(v, char_offsets(e, text), is_truncated(e)) for v, e, text in zip(vectors, encodings, texts)]


def _int8_or_fp32(directory: Path, manifest: Manifest, *, explicit: bool) -> str:
    """"int8", or "fp32" (with a warning) where the int8 graph would give wrong vectors on this CPU; an explicit
    int8 request, or a bundle with no fp32 model, gets an error instead."""
    problem = int8_weight_problem(manifest.quantization)
    if problem is None:
        return "int8"
    fix = "re-export it with --quantize avx2 (7-bit weights, right on every CPU)"
    if explicit or MODEL_FILES["fp32"] not in manifest.files:
        other = " or open it with precision='fp32'" if MODEL_FILES["fp32"] in manifest.files else ""
        raise BundleError(f"{directory}: {problem}; {fix}{other}")
    warnings.warn(f"{directory}: {problem}; running its fp32 model instead ({fix} for int8 speed)", stacklevel=3)
    return "fp32"


def _open_session(directory: Path, manifest: Manifest, model_file: str, providers: list[str],
                  threads: int | None, verify: bool):
    """The model's session; on CPU through the optimised-graph cache (hit: size check only, since the entry
    was written after a full sha256 check of this exact file state; miss: verify, optimise, save)."""
    model, sha = directory / model_file, manifest.files[model_file]["sha256"]
    if providers != [CPU]:
        verify_files(directory, manifest, [model_file], full=verify)
        return create_session(model, providers, threads)
    verify_files(directory, manifest, [model_file], full=False)
    cached = graph_cache.lookup(model, sha)
    if cached is not None:
        return create_session(cached, providers, threads)
    verify_files(directory, manifest, [model_file], full=verify)
    target = graph_cache.scratch(model, sha) if verify else None
    if target is None:
        return create_session(model, providers, threads)
    try:
        session = create_session(model, providers, threads, save_to=target[0])
    except BaseException:
        target[0].unlink(missing_ok=True)
        raise
    graph_cache.commit(*target, model)
    return session
