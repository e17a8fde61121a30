"""Evidence: the words of a sentence that carry most of a skill's ConTeXT-match attention."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

MAX_SPANS = 3
MASS = 0.6  # stop once the chosen tokens carry this share of the attention on real tokens


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
