"""Evidence: the words of a sentence that carry most of a skill's ConTeXT-match attention."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

MAX_SPANS = 3
MASS = 0.6  # stop once the chosen tokens carry this share of the attention on real tokens
# Evidence spans (`evidence_spans`). ConTeXT-match's own attention (softmax of raw dot products, logits ~40)
# is one-hot on real ads (359 of 361 evidence entries were one token of weight 1.0), so spans are read from
# softened weights: softmax over the real tokens of cos(token, skill) / SPAN_TEMPERATURE. A token joins the
# evidence when it holds at least SPAN_SHARE of that mass; adjacent such tokens form one span.
SPAN_TEMPERATURE = 0.05
SPAN_SHARE = 0.12


@dataclass(frozen=True)
class Evidence:
    """A span of the sentence and the attention weight it carries."""

    text: str
    start: int
    end: int
    weight: float

    def to_json(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)


def _word(sentence: str, start: int, end: int) -> tuple[int, int]:
    """Grow a token's span to the whole word around it.

    Only from a letter or digit: a punctuation token ('(', '/', '+') stays itself, so it neither drags a
    bracket into the word next to it nor yields a span overlapping that word's own ('CI/CD' vs 'CI')."""
    grow_left = start < end and sentence[start].isalnum()
    grow_right = start < end and sentence[end - 1].isalnum()
    while grow_left and start > 0 and sentence[start - 1].isalnum():
        start -= 1
    while grow_right and end < len(sentence) and sentence[end].isalnum():
        end += 1
    return start, end


def evidence(sentence: str, alpha: np.ndarray, offsets: np.ndarray) -> tuple[Evidence, ...]:
    """The top-attention words (at most MAX_SPANS), in sentence order, special tokens ignored."""
    real = offsets[:, 1] > offsets[:, 0]
    total = float(alpha[real].sum())
    if total <= 0:
        return ()
    words: dict[tuple[int, int], float] = {}
    taken = 0.0
    for pos in np.argsort(-alpha):
        if not real[pos]:
            continue
        span = _word(sentence, int(offsets[pos, 0]), int(offsets[pos, 1]))
        words[span] = words.get(span, 0.0) + float(alpha[pos]) / total
        taken += float(alpha[pos]) / total
        if taken >= MASS or len(words) >= MAX_SPANS:
            break
    return tuple(Evidence(sentence[a:b], a, b, round(w, 4)) for (a, b), w in sorted(words.items()))


def evidence_weights(tokens: np.ndarray, skill: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(L,) float32 softened evidence weights of one skill vector over a sentence's tokens: softmax of
    cos(token, skill) / SPAN_TEMPERATURE over real tokens (special tokens get 0); sums to 1 (or all 0)."""
    real = offsets[:, 1] > offsets[:, 0]
    out = np.zeros(len(tokens), np.float32)
    if not real.any():
        return out
    tok = tokens[real]
    cos = tok @ skill / np.maximum(np.linalg.norm(tok, axis=1) * np.linalg.norm(skill), 1e-12)
    logits = (cos - cos.max()) / SPAN_TEMPERATURE
    weights = np.exp(logits)
    out[real] = weights / weights.sum()
    return out


def evidence_spans(sentence: str, weights: np.ndarray, offsets: np.ndarray) -> tuple[Evidence, ...]:
    """Contiguous runs of tokens holding at least SPAN_SHARE of the evidence weight each (the top token
    always), grown to whole words; at most MAX_SPANS runs (the heaviest), in sentence order."""
    real = offsets[:, 1] > offsets[:, 0]
    if not real.any() or float(weights[real].sum()) <= 0:
        return ()
    wordy = real & np.asarray([any(ch.isalnum() for ch in sentence[a:b]) for a, b in offsets.tolist()], bool)
    if wordy.any():  # punctuation tokens ('(', ',') never become evidence on their own
        real = wordy
    chosen = real & (weights >= SPAN_SHARE)
    chosen[int(np.argmax(np.where(real, weights, -1.0)))] = True
    runs: list[tuple[int, int, float]] = []  # (start char, end char, weight)
    for pos in np.flatnonzero(chosen):
        a, b = _word(sentence, int(offsets[pos, 0]), int(offsets[pos, 1]))
        if runs and ((pos > 0 and chosen[pos - 1]) or a <= runs[-1][1]):
            start, _, weight = runs[-1]
            runs[-1] = (start, max(b, runs[-1][1]), weight + float(weights[pos]))
        else:
            runs.append((a, b, float(weights[pos])))
    runs = sorted(sorted(runs, key=lambda r: -r[2])[:MAX_SPANS])
    return tuple(Evidence(sentence[a:b], a, b, round(w, 4)) for a, b, w in runs)
