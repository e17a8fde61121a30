"""`Encoder`: run an exported bundle with onnxruntime alone (no torch)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workvec.errors import BundleError, InputError
from workvec.runtime.manifest import MODEL_FILES, TOKENIZER_FILE, Manifest, read_manifest, verify_files
from workvec.runtime import graph_cache
from workvec.runtime.session import CPU, create_session, resolve_providers
from workvec.runtime.tokenizer import check_texts, count_truncated, iter_batches, load_tokenizer

PRECISIONS = ("auto", "int8", "fp32")


@dataclass(frozen=True)
class EncoderInfo:
    """What an Encoder actually runs: for logs, benchmarks and index sidecars."""

    bundle: str
    precision: str
    providers: tuple[str, ...]
    threads: int | None
    dim: int
    max_seq_length: int


class Encoder:
    """Encode texts with a workvec bundle: `encode` for sentence vectors, `encode_tokens` for token vectors."""

    def __init__(self, directory: Path, manifest: Manifest, session, tokenizer, info: EncoderInfo) -> None:
        self.directory = directory
        self.manifest = manifest
        self.info = info
        self._session = session
        self._tokenizer = tokenizer
        self._inputs = [i.name for i in session.get_inputs()]
        self._outputs = [o.name for o in session.get_outputs()]

    @classmethod
    def load(
        cls,
        bundle_dir: str | Path,
        precision: str = "auto",
        providers: str | Sequence[str] = "auto",
        threads: int | None = None,
        verify: bool = True,
    ) -> Encoder:
        """Open a bundle. `precision="auto"` is int8 on CPU and fp32 on CUDA; `verify` checks the sha256 of the
        files it uses (the model's once per file state on CPU, see `graph_cache`)."""
        if precision not in PRECISIONS:
            raise InputError(f"precision {precision!r} is not one of {PRECISIONS}")
        if threads is not None and threads < 1:
            raise InputError(f"threads must be >= 1 (got {threads}); leave it None for the default")
        directory = Path(bundle_dir)
        manifest = read_manifest(directory)
        chosen = resolve_providers(providers)
        if precision == "auto":
            precision = "int8" if chosen[0] == CPU else "fp32"
        model_file = MODEL_FILES[precision]
        if model_file not in manifest.files:
            raise BundleError(f"{directory} has no {precision} model (exported with --quantize none?); load precision='fp32'")
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

    def _run(self, texts: Sequence[str], batch_size: int, output: str, warn_truncation: bool):
        """Yield (order, lengths, output array) per length-sorted batch."""
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1 (got {batch_size})")
        if output not in self._outputs:
            raise BundleError(f"this bundle ({self.manifest.kind}) has no {output!r} output; export with --kind skill")
        items = check_texts(texts)
        if warn_truncation:
            n = count_truncated(self._tokenizer, items, self.manifest.max_seq_length)
            if n:
                warnings.warn(f"{n} text(s) exceed {self.manifest.max_seq_length} tokens and were truncated", stacklevel=3)
        for batch in iter_batches(self._tokenizer, items, batch_size, self.manifest.pad_id):
            feeds = {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(batch.input_ids)
            feeds = {k: v for k, v in feeds.items() if k in self._inputs}
            (out,) = self._session.run([output], feeds)
            yield batch, out

    def token_offsets(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Per text, the (tokens_i, 2) character spans of its tokens ((0, 0) for special tokens)."""
        encodings = self._tokenizer.encode_batch(check_texts(texts))
        return [np.asarray(e.offsets, dtype=np.int64).reshape(-1, 2) for e in encodings]

    def encode(self, texts: Sequence[str], batch_size: int = 32, warn_truncation: bool = False) -> np.ndarray:
        """(n, dim) float32 sentence vectors, in input order. Texts over max_seq_length tokens are truncated."""
        result = np.zeros((len(texts), self.dim), dtype=np.float32)
        for batch, out in self._run(texts, batch_size, "sentence_embedding", warn_truncation):
            result[batch.order] = out
        return result

    def encode_tokens(self, texts: Sequence[str], batch_size: int = 32, warn_truncation: bool = False) -> list[np.ndarray]:
        """One (tokens_i, token_dim) float32 array per text, special tokens kept, padding removed."""
        result: list[np.ndarray] = [np.zeros((0, self.token_dim), np.float32)] * len(texts)
        for batch, out in self._run(texts, batch_size, "token_embeddings", warn_truncation):
            for row, (i, n) in enumerate(zip(batch.order, batch.lengths)):
                result[int(i)] = np.ascontiguousarray(out[row, : int(n)], dtype=np.float32)
        return result


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
    graph_cache.commit(*target)
    return session
