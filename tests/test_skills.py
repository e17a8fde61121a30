"""SkillExtractor scores and evidence on the tiny skill bundle: exact ConTeXT-match, label bounds, HNSW candidates."""

from __future__ import annotations

import json

import numpy as np
import pytest
from skills_support import AD, LINES, TINY_THRESHOLD, check_match

from workvec import (
    Encoder,
    ExtractSettings,
    IndexSpec,
    LabelIndex,
    SkillExtractor,
    SkillMatch,
    Taxonomy,
    split_sentences,
)
from workvec.runtime.evidence import evidence


def reference_scores(tokens: np.ndarray, skills: np.ndarray) -> np.ndarray:
    """ConTeXT-match in plain float64 numpy: sum_j softmax_j(z_xj . z_s) * cos(z_xj, z_s), per skill."""
    t = tokens.astype(np.float64)
    s = skills.astype(np.float64)
    logits = t @ s.T
    weights = np.exp(logits - logits.max(axis=0, keepdims=True))
    weights /= weights.sum(axis=0, keepdims=True)
    cos = (t / np.linalg.norm(t, axis=1, keepdims=True)) @ (s / np.linalg.norm(s, axis=1, keepdims=True)).T
    return (weights * cos).sum(axis=0)


@pytest.fixture(scope="module")
def small_hnsw(encoder: Encoder, tmp_path_factory) -> LabelIndex:
    """The first 3,000 ESCO skills in an HNSW index (the candidate path, built in about a second)."""
    esco = Taxonomy.open("esco-skills")
    small = Taxonomy("esco-3000", esco.concepts[:3000])
    return LabelIndex.open(encoder, small, include_alt=False, spec=IndexSpec(mode="hnsw"),
                           index_dir=tmp_path_factory.mktemp("hnsw"), progress=False)


# --- scores --------------------------------------------------------------------------------------------------------


def test_exact_scores_equal_a_numpy_reference(encoder: Encoder, esco: LabelIndex, extractor: SkillExtractor) -> None:
    assert esco.index.mode == "exact" and extractor.exact
    raw = esco.raw_vectors()
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-2)  # unnormalised: the norms shape attention
    sentences = ["Python", "Strong Python programming skills are required.", LINES[0],
                 " ".join(["Communicate with stakeholders, manage a small team and write documentation."] * 6)]
    for sentence, encoded in zip(sentences, encoder.encode_tokens(sentences)):
        rows, scores = extractor.score_sentence_tokens(encoded.vectors)
        np.testing.assert_array_equal(rows, np.arange(len(esco.labels)))
        want = reference_scores(encoded.vectors, raw)
        assert np.abs(scores - want).max() < 1e-4, (sentence, np.abs(scores - want).max())


def reported(matches: list[SkillMatch]) -> dict[str, float]:
    """Every concept a result names, standing alone or grouped under a better one as `related`: its best score."""
    found: dict[str, float] = {}
    for m in matches:
        for cid, score in ((m.id, m.score), *((r.id, r.score) for r in m.related)):
            found[cid] = max(found.get(cid, -1.0), score)
    return found


def reference_concepts(encoder: Encoder, esco: LabelIndex, sentences: list[str], threshold: float) -> dict[str, float]:
    """Per concept, its best reference score over `sentences` where it reaches `threshold` (no cap)."""
    best: dict[str, float] = {}
    for encoded in encoder.encode_tokens(sentences):
        want = reference_scores(encoded.vectors, esco.raw_vectors())
        for i in np.flatnonzero(want >= threshold):
            concept = esco.taxonomy.concepts[esco.owners[i]].id
            best[concept] = max(best.get(concept, -1.0), float(want[i]))
    return best


def test_exact_extract_reports_the_reference_top_skills(encoder: Encoder, esco: LabelIndex) -> None:
    sentence = "Strong Python programming skills and experience with SQL databases are required."
    settings = ExtractSettings(threshold=TINY_THRESHOLD, exact=True)
    found = SkillExtractor(encoder, esco, settings).extract(sentence).skills
    want = reference_concepts(encoder, esco, [sentence], settings.threshold)
    assert want, "pick a lower TINY_THRESHOLD: nothing reaches it"
    got = reported(found)
    assert got.keys() == want.keys()
    np.testing.assert_allclose([got[c] for c in want], list(want.values()), atol=1e-4)
    assert all((m.sentence, m.sentence_start, m.sentence_end) == (sentence, 0, len(sentence)) for m in found)


def test_bounded_extract_equals_scoring_every_label(encoder: Encoder, esco: LabelIndex) -> None:
    """Exact mode scores only labels whose best token cosine reaches the threshold: per sentence, the same
    concepts and scores as scoring every label."""
    settings = ExtractSettings(threshold=0.8, exact=True)
    per_sentence = [o.matches for o in SkillExtractor(encoder, esco, settings).run(LINES)]
    total = 0
    for line, matches in zip(LINES, per_sentence):
        got, want = reported(matches), reference_concepts(encoder, esco, [line], settings.threshold)
        assert got.keys() == want.keys()
        np.testing.assert_allclose([got[c] for c in want], list(want.values()), atol=1e-4)
        total += len(want)
    assert total > 5


def test_hnsw_candidates_get_exact_scores(encoder: Encoder, small_hnsw: LabelIndex) -> None:
    assert small_hnsw.index.mode == "hnsw"
    candidates = SkillExtractor(encoder, small_hnsw, ExtractSettings(threshold=TINY_THRESHOLD))
    every = SkillExtractor(encoder, small_hnsw, ExtractSettings(threshold=TINY_THRESHOLD, exact=True))
    assert not candidates.exact and every.exact
    for encoded in encoder.encode_tokens(LINES + [AD]):
        rows, scores = candidates.score_sentence_tokens(encoded.vectors)
        assert 0 < len(rows) < len(small_hnsw.labels) and len(np.unique(rows)) == len(rows)
        all_rows, all_scores = every.score_sentence_tokens(encoded.vectors)
        np.testing.assert_allclose(scores, all_scores[rows], atol=1e-5)
    for match in candidates.extract(AD).skills:
        check_match(match, AD)


# --- evidence and offsets -----------------------------------------------------------------------------------------


def test_evidence_spans_with_real_offsets_never_overlap(encoder: Encoder) -> None:
    sentence = "Skills: C++, e-mail and CI/CD (naïve café 😀 Führung) – Zürich's R&D."
    offsets = encoder.encode_tokens([sentence])[0].offsets
    n = len(offsets)
    for peak in range(n):  # attention peaked on each token in turn, then on its neighbours
        for second in (peak - 1, peak + 1):
            alpha = np.full(n, 0.01, dtype=np.float32)
            alpha[peak] = 1.0
            alpha[second % n] = 0.6
            alpha[(second + (second - peak)) % n] = 0.4
            spans = evidence(sentence, alpha / alpha.sum(), offsets)
            check_match(SkillMatch("id", "label", 1.0, sentence, 0, len(sentence), spans), sentence)
    alpha = np.zeros(n, dtype=np.float32)
    alpha[0] = alpha[-1] = 0.5  # all attention on the special tokens: nothing to show
    assert evidence(sentence, alpha, offsets) == ()


def test_offsets_index_the_ad(encoder: Encoder, esco: LabelIndex) -> None:
    found = SkillExtractor(encoder, esco, ExtractSettings(threshold=0.3, k=8)).extract(AD).skills
    assert len(found) >= 20
    spans = split_sentences(AD)
    assert len({m.sentence_start for m in found}) > 3, "matches from several sentences expected"
    for match in found:
        check_match(match, AD)
        assert any((s.start, s.end) == (match.sentence_start, match.sentence_end) for s in spans)
    data = json.loads(json.dumps(found[0].to_json()))
    assert AD[data["sentence_start"]:data["sentence_end"]] == data["sentence"]
    assert all(AD[e["start"]:e["end"]] == e["text"] for e in data["evidence"])


def test_extract_ranks_distinct_skills_above_the_threshold(extractor: SkillExtractor, encoder: Encoder,
                                                           esco: LabelIndex) -> None:
    found = extractor.extract(AD).skills
    assert found
    scores = [m.score for m in found]
    assert scores == sorted(scores, reverse=True)
    assert len({m.id for m in found}) == len(found)
    assert min(scores) >= extractor.settings.threshold
    sentences = {s.text for s in split_sentences(AD)}
    assert {m.sentence for m in found} <= sentences
    one = SkillExtractor(encoder, esco, ExtractSettings(threshold=TINY_THRESHOLD, k=1)).extract(AD).skills
    assert 0 < len(one) <= len(sentences)
    assert len({m.sentence for m in one}) == len(one), "k=1 keeps one skill per sentence"
