"""Output shaping (workvec.runtime.shaping): uncapped by default, near-duplicates grouped, evidence as spans.

Real all-MiniLM-L6-v2 skill bundle and the embedded ESCO skills (exact scoring of every label)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workvec.errors import InputError
from workvec.runtime.encoder import Encoder
from workvec.runtime.evidence import MAX_SPANS, evidence_spans, evidence_weights
from workvec.runtime.labels import LabelIndex
from workvec.runtime.shaping import ShapeSettings, shape_sentence
from workvec.runtime.skills import ExtractSettings, SkillExtractor
from workvec.runtime.taxonomy import load_taxonomy
from conftest import shared_index_dir

DUTCH = "Experience with Spring Boot and Java microservices, plus fluent Dutch and English."


@pytest.fixture(scope="module")
def encoder(minilm_skill: Path) -> Encoder:
    return Encoder.open(minilm_skill, precision="int8", providers="cpu", threads=1)


@pytest.fixture(scope="module")
def labels(encoder: Encoder, tmp_path_factory) -> LabelIndex:
    return LabelIndex.open(encoder, load_taxonomy("esco-skills"), index_dir=shared_index_dir(tmp_path_factory, "esco-exact"),
                           include_alt=False, progress=False)


def shaped(encoder: Encoder, labels: LabelIndex, sentence: str, **settings):
    extractor = SkillExtractor(encoder, labels, ExtractSettings(threshold=0.0, exact=True))
    (encoded,) = encoder.encode_tokens([sentence])
    rows, scores = extractor.score_sentence_tokens(encoded.vectors)
    out = shape_sentence(sentence, encoded.vectors, encoded.offsets, rows, scores, labels,
                         ShapeSettings(**settings))
    return [(labels.taxonomy.concepts[m.owner].label, m) for m in out]


@pytest.mark.integration
def test_near_duplicates_are_grouped_under_the_best(encoder: Encoder, labels: LabelIndex) -> None:
    ungrouped = shaped(encoder, labels, DUTCH, threshold=0.55, group=False)
    flat, scores = [label for label, _ in ungrouped], {label: m.score for label, m in ungrouped}
    grouped = dict(shaped(encoder, labels, DUTCH, threshold=0.55))
    assert {"Dutch", "write Dutch", "English"} <= set(flat)
    head, other = sorted(["Dutch", "write Dutch"], key=lambda label: -scores[label])  # the better one leads
    assert head in grouped and other not in grouped
    assert other in {r.label for r in grouped[head].related}
    assert "English" in grouped  # not crowded out any more, and not grouped with Dutch (other evidence)
    assert all(r.score <= grouped[head].score for r in grouped[head].related)
    assert sum(1 + len(m.related) for m in grouped.values()) == len(flat)  # grouped, never dropped


@pytest.mark.integration
def test_threshold_decides_not_a_cap(encoder: Encoder, labels: LabelIndex) -> None:
    uncapped = shaped(encoder, labels, DUTCH, threshold=0.5, group=False)
    assert len(uncapped) > 5
    assert all(m.score >= 0.5 for _, m in uncapped)
    capped = shaped(encoder, labels, DUTCH, threshold=0.5, group=False, k=2)
    assert [label for label, _ in capped] == [label for label, _ in uncapped[:2]]
    with pytest.raises(InputError, match="k must be a positive integer or None"):
        ShapeSettings(threshold=0.5, k=0)


@pytest.mark.integration
def test_evidence_spans_cover_contiguous_tokens(encoder: Encoder, labels: LabelIndex) -> None:
    sentence = "Knowledge of customer relationship management software. You will operate a forklift truck."
    found = dict(shaped(encoder, labels, sentence, threshold=0.55))
    assert "operate forklift" in found and [e.text for e in found["operate forklift"].evidence] == ["forklift"]
    for label, match in found.items():
        assert 1 <= len(match.evidence) <= MAX_SPANS
        for e in match.evidence:
            assert sentence[e.start:e.end] == e.text and e.text.strip() == e.text
        assert all(a.end <= b.start for a, b in zip(match.evidence, match.evidence[1:]))
    crm = [m for label, m in found.items() if "customer relationship management" in label]
    assert any(e.text.startswith("customer relationship") for m in crm for e in m.evidence), crm


def test_evidence_spans_of_synthetic_weights() -> None:
    sentence = "operate forklift truck daily"
    offsets = np.array([[0, 0], [0, 7], [8, 16], [17, 22], [23, 28], [0, 0]])
    weights = np.array([0, 0.05, 0.5, 0.4, 0.05, 0], np.float32)
    spans = evidence_spans(sentence, weights, offsets)
    assert [(e.text, e.weight) for e in spans] == [("forklift truck", 0.9)]
    tokens = np.eye(6, 4, dtype=np.float32)
    w = evidence_weights(tokens, tokens[2], offsets)
    assert w[0] == w[5] == 0 and abs(float(w.sum()) - 1) < 1e-6 and int(np.argmax(w)) == 2
