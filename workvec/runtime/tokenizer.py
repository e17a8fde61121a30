"""Tokenizer loading and length-sorted, per-batch padding (the one place that does it).

A loaded tokenizer is never mutated afterwards (truncation is fixed at load time), so one `Encoder` can be
called from several threads; whether a text was truncated is read from its encoding's overflow. Token character
spans (`char_offsets`) index the caller's text, whatever the tokenizer's normaliser did to it (NFKC, accents).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Encoding, Tokenizer

from workvec.errors import BundleError


@dataclass(frozen=True)
class Batch:
    """One padded batch: row `i` holds the text at `order[i]` of the caller's list."""

    order: np.ndarray
    input_ids: np.ndarray
    attention_mask: np.ndarray
    lengths: np.ndarray

    def feeds(self, inputs: Sequence[str]) -> dict[str, np.ndarray]:
        """The graph inputs it declares (`token_type_ids` only when the graph has it, as zeros)."""
        feeds = {"input_ids": self.input_ids, "attention_mask": self.attention_mask,
                 "token_type_ids": np.zeros_like(self.input_ids)}
        return {name: feeds[name] for name in inputs if name in feeds}


def load_tokenizer(path: Path, max_length: int) -> Tokenizer:
    """Load `tokenizer.json` with padding off and truncation at `max_length` tokens."""
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises bare Exception subclasses
        raise BundleError(f"cannot read tokenizer {path}: {exc}; re-export the bundle") from exc
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


def check_texts(texts: Sequence[str]) -> list[str]:
    """A list copy of `texts`, with a TypeError naming the first non-string item."""
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string; wrap it: [text]")
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {type(text).__name__}, not str; convert or drop it")
    return out


# A batch holds at most this many padded tokens (bounds attention memory on long texts), and closes
# before a text that would be more than half padding (and over PAD_SLACK tokens of it).
MAX_BATCH_TOKENS = 8192
PAD_SLACK = 8


def plan_batches(lengths: np.ndarray, batch_size: int, *, exact: bool = False) -> list[np.ndarray]:
    """Group text indices into batches, longest first, so that padding stays a small share of the work;
    `exact`: each batch holds texts of one token length only (no padding at all, see `Encoder`)."""
    order = np.argsort(-lengths, kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    while start < len(order):
        width = int(lengths[order[start]])
        rows = min(batch_size, max(1, MAX_BATCH_TOKENS // max(width, 1)))
        end = start + 1
        limit = min(start + rows, len(order))
        while end < limit:
            n = int(lengths[order[end]])
            if (exact and n != width) or (2 * n < width and width - n > PAD_SLACK):
                break
            end += 1
        batches.append(order[start:end])
        start = end
    return batches


def tokenize(tokenizer: Tokenizer, texts: list[str]) -> list[Encoding]:
    """Encode `texts` once (special tokens added, truncated at the length fixed at load time)."""
    return tokenizer.encode_batch(texts, add_special_tokens=True)


def char_offsets(encoding: Encoding, text: str) -> np.ndarray:
    """(tokens, 2) int64 character spans of `encoding`'s tokens in `text` ((0, 0) for special tokens). A token's
    span takes in the combining marks that follow it: an NFKC normaliser (XLM-R's) composes "e" + U+0301 into
    one "é" and tokenizers aligns the token to the "e" alone, which would cut the accent off the evidence."""
    offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
    for row in np.flatnonzero(offsets[:, 1] > offsets[:, 0]):
        end = int(offsets[row, 1])
        while end < len(text) and unicodedata.combining(text[end]):
            end += 1
        offsets[row, 1] = end
    return offsets


def is_truncated(encoding: Encoding) -> bool:
    """True when the text had more tokens than the tokenizer's truncation length."""
    return bool(encoding.overflowing)


def iter_batches(encodings: list[Encoding], batch_size: int, pad_id: int, *, exact: bool = False) -> Iterator[Batch]:
    """Length-grouped padded batches of `encodings` (padding only up to each batch's longest text; none when
    `exact`)."""
    lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
    for idx in plan_batches(lengths, batch_size, exact=exact):
        yield pad(encodings, idx, pad_id)


def pad(encodings: list[Encoding], idx: np.ndarray, pad_id: int) -> Batch:
    """One batch of `encodings[idx]`, in that order, padded to its longest text."""
    lengths = np.fromiter((len(encodings[int(i)].ids) for i in idx), dtype=np.int64, count=len(idx))
    ids = np.full((len(idx), int(lengths.max(initial=0))), pad_id, dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, (i, n) in enumerate(zip(idx, lengths)):
        ids[row, :n] = encodings[int(i)].ids
        mask[row, :n] = 1
    return Batch(order=np.asarray(idx), input_ids=ids, attention_mask=mask, lengths=lengths)
