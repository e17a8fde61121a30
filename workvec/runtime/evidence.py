"""Evidence: the words of a sentence that carry most of a skill's ConTeXT-match attention, and (EvidenceRule)
when they are not worth showing: a fragment of a word, a fragment of the label's word, function words only."""

from __future__ import annotations

import os
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
    return shown(sentence, evidence_runs(sentence, weights, offsets))


def shown(sentence: str, runs: list[Run]) -> tuple[Evidence, ...]:
    """The Evidence spans of `runs` (what the answer shows)."""
    return tuple(Evidence(sentence[r.start:r.end], r.start, r.end, round(r.weight, 4)) for r in runs)


@dataclass(frozen=True)
class Run:
    """One evidence span before it is shown: its characters, weight, and each of its words as (start, end,
    share of the word's characters that the chosen tokens themselves cover: 'Snow' of 'Snowflake' 0.44)."""

    start: int
    end: int
    weight: float
    words: tuple[tuple[int, int, float], ...]


def evidence_runs(sentence: str, weights: np.ndarray, offsets: np.ndarray) -> list[Run]:
    """The runs behind `evidence_spans`, in sentence order, with how much of each word the evidence covers."""
    real = offsets[:, 1] > offsets[:, 0]
    if not real.any() or float(weights[real].sum()) <= 0:
        return []
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
    covered = np.zeros(len(sentence), bool)
    for a, b in offsets[chosen].tolist():
        covered[a:b] = True
    runs = sorted(sorted(runs, key=lambda r: -r[2])[:MAX_SPANS])
    return [Run(a, b, w, tuple((s, e, float(covered[s:e].mean())) for s, e in words_in(sentence, a, b)))
            for a, b, w in runs]


def words_in(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each word (maximal run of letters and digits) of text[start:end]."""
    end = len(text) if end is None else end
    out, pos = [], start
    while pos < end:
        if text[pos].isalnum():
            stop = pos
            while stop < end and text[stop].isalnum():
                stop += 1
            out.append((pos, stop))
            pos = stop
        else:
            pos += 1
    return out


# Words that never make a match on their own ('to', 'in' are often a span: "to lead", "in SQL").
FUNCTION_WORDS = frozenset("""a an the and or nor but of to in on at for with by from as into onto about over
under than then so if is are was were be been being am has have had do does did will would can could shall
should may might must you your yours we our ours us they their them he his she her it its i me my this that
these those there here who whom which what when where how all any each some such no not very also etc""".split())


@dataclass(frozen=True)
class EvidenceRule:
    """When a match's evidence is not worth showing. Each evidence run's content words (FUNCTION_WORDS set
    aside) are compared with the matched label's words; the match is weak when every run with a content word
    is a fragment, or (`function_words`) when no run has one. A run is never a fragment when one of its words
    is a label word up to an inflection (`same_word`: 'layouts' for "store design layout"). Otherwise it is:

    - sub_words: when none of its words is covered whole by the evidence tokens ('Snowflake' where only the
      token 'Snow' matched "remove snow"; 'numerate' where 'nu', 'mer' matched "numerology");
    - fragments: when one of its words begins a label word or is begun by one beyond an inflection
      (`fragment_of`: 'VA' for "perform VATS", 'teamwork' for "collaborate with coaching team").
    - margin: None drops weak matches; a number keeps them at score >= threshold + margin (demoted).

    The defaults (all three on, weak matches dropped) are the best of the rules tried on HOUSE+TECH validation
    with the shipped model (benchmarks/quality/evidence_rules.py: F1 0.371 -> 0.376); they do not carry over
    to SkillSkape dev or HOUSE+TECH test, so `extract` does not apply them (ShapeSettings.evidence is None).
    """

    sub_words: bool = True
    fragments: bool = True
    function_words: bool = True
    margin: float | None = None

    @property
    def active(self) -> bool:
        """Whether any rule is on."""
        return self.sub_words or self.fragments or self.function_words

    def weak(self, sentence: str, runs: list[Run], label: str) -> bool:
        """Whether a match of `label` whose evidence is `runs` rests on evidence not worth showing."""
        if not self.active:
            return False
        content = [[w for w in r.words if sentence[w[0]:w[1]].lower() not in FUNCTION_WORDS] for r in runs]
        content = [words for words in content if words]
        if not content:
            return self.function_words
        label_words = {label[a:b].lower() for a, b in words_in(label)}
        return all(self.fragment(sentence, words, label_words) for words in content)

    def fragment(self, sentence: str, words: list[tuple[int, int, float]], label_words: set[str]) -> bool:
        """Whether one run's content `words` (start, end, share covered) are a fragment for `label_words`."""
        texts = [sentence[a:b].lower() for a, b, _ in words]
        if any(same_word(t, w) for t in texts for w in label_words):
            return False
        if self.sub_words and max(share for _, _, share in words) < 1.0:
            return True
        return self.fragments and any(fragment_of(t, w) for t in texts for w in label_words)


def same_word(a: str, b: str) -> bool:
    """Equal, or one word up to an inflection: a plural 's'/'es' (pig / pigs), or a shared start of 4+ letters
    with at most 3 letters more on either side (layout / layouts, proactive / proactively, surgeon / surgery)."""
    short, long = sorted((a, b), key=len)
    if long == short or long in (short + "s", short + "es"):
        return True
    p = len(os.path.commonprefix([a, b]))
    return p >= 4 and len(a) - p <= 3 and len(b) - p <= 3


def fragment_of(a: str, b: str) -> bool:
    """One word begins the other, which goes on beyond an inflection: snow / Snowflake, VA / VATS, Java /
    JavaScript (after a word of 3 letters or fewer, any continuation but a plural)."""
    short, long = sorted((a, b), key=len)
    return long.startswith(short) and not same_word(a, b) and (len(short) <= 3 or len(long) - len(short) > 3)
