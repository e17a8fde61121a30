"""SkillExtractor (ConTeXT-match over ESCO skills): exact scores, candidates, evidence offsets into the ad, batching.

The committed tiny skill bundle with the embedded ESCO skills (an exact index: 13,939 labels) and a small HNSW
index: contracts, not semantics (tests/test_skills_minilm.py has the integration tier: real skills, candidate recall).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_index_dir, shared_path
from workvec import (Encoder, ExtractSettings, IndexSpec, LabelIndex, SkillExtractor, SkillMatch, Span, Taxonomy,
                     merge_sentences, split_sentences)
from workvec.errors import InputError
from workvec.runtime.evidence import MAX_SPANS, evidence
from workvec.runtime.skills import SENTENCES_PER_CHUNK

AD = """Senior Data Engineer (m/f/d) – Zürich
Strong Python programming skills are required. Experience with SQL databases is a plus.
• Build ETL pipelines in Apache Spark; maintain our CI/CD (GitLab) and C++ services.
• Communicate with stakeholders, manage a small team and write technical documentation.
Erfahrung mit Führung ist ein Plus — naïve café talk 😀 is not.
You will drive a forklift truck in our warehouse when needed!"""
LINES = ["We are hiring a nurse to care for patients and administer medication.",
         "You manage budgets, negotiate contracts with suppliers and report to the board.",
         "Experience with Java, Kubernetes and continuous integration is a plus."]
# The tiny model's random vectors score most labels near 0.8: a threshold where the bound prunes for real.
TINY_THRESHOLD = 0.84


def reference_scores(tokens: np.ndarray, skills: np.ndarray) -> np.ndarray:
    """ConTeXT-match in plain float64 numpy: sum_j softmax_j(z_xj . z_s) * cos(z_xj, z_s), per skill."""
    t = tokens.astype(np.float64)
    s = skills.astype(np.float64)
    logits = t @ s.T
    weights = np.exp(logits - logits.max(axis=0, keepdims=True))
    weights /= weights.sum(axis=0, keepdims=True)
    cos = (t / np.linalg.norm(t, axis=1, keepdims=True)) @ (s / np.linalg.norm(s, axis=1, keepdims=True)).T
    return (weights * cos).sum(axis=0)


def check_match(match: SkillMatch, text: str) -> None:
    """Offsets index `text` (the text given to extract): the sentence, and evidence inside it, in order."""
    assert text[match.sentence_start:match.sentence_end] == match.sentence, match
    spans = match.evidence
    assert 1 <= len(spans) <= MAX_SPANS, match
    for e in spans:
        assert text[e.start:e.end] == e.text and e.text.strip() == e.text != "", (e, match.sentence)
        assert match.sentence_start <= e.start < e.end <= match.sentence_end, (e, match)
        assert 0 < e.weight <= 1, e
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:])), f"spans overlap or are out of order: {spans}"
    assert sum(e.weight for e in spans) <= 1 + 1e-3


@pytest.fixture(scope="module")
def encoder(tiny_skill_bundle: Path) -> Encoder:
    return Encoder.open(tiny_skill_bundle)


@pytest.fixture(scope="module")
def esco(encoder: Encoder, tmp_path_factory) -> LabelIndex:
    """ESCO skill preferred labels under the tiny bundle: below 20k labels, so an exact index."""
    return LabelIndex.open(encoder, Taxonomy.open("esco-skills"), include_alt=False,
                           index_dir=shared_index_dir(tmp_path_factory, "esco"), progress=False)


@pytest.fixture(scope="module")
def extractor(encoder: Encoder, esco: LabelIndex) -> SkillExtractor:
    return SkillExtractor(encoder, esco, ExtractSettings(threshold=TINY_THRESHOLD))


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
    found = SkillExtractor(encoder, esco, settings).extract(sentence)
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
    per_sentence = SkillExtractor(encoder, esco, settings).extract_sentences(LINES)
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
    for match in candidates.extract(AD):
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
    found = SkillExtractor(encoder, esco, ExtractSettings(threshold=0.3, k=8)).extract(AD)
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
    found = extractor.extract(AD)
    assert found
    scores = [m.score for m in found]
    assert scores == sorted(scores, reverse=True)
    assert len({m.id for m in found}) == len(found)
    assert min(scores) >= extractor.settings.threshold
    sentences = {s.text for s in split_sentences(AD)}
    assert {m.sentence for m in found} <= sentences
    one = SkillExtractor(encoder, esco, ExtractSettings(threshold=TINY_THRESHOLD, k=1)).extract(AD)
    assert 0 < len(one) <= len(sentences)
    assert len({m.sentence for m in one}) == len(one), "k=1 keeps one skill per sentence"


# --- batch, sentences, merge ----------------------------------------------------------------------------------------


def assert_same_matches(got: list[list[SkillMatch]], want: list[list[SkillMatch]]) -> None:
    """Equal matches, scores within float32 noise (a batch pads differently)."""
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert [(m.id, m.sentence_start, m.sentence_end, m.evidence) for m in a] == \
               [(m.id, m.sentence_start, m.sentence_end, m.evidence) for m in b]
        np.testing.assert_allclose([m.score for m in a], [m.score for m in b], atol=2e-5)


BATCH_TEXTS = [AD, "", "\n".join(LINES), "Python", AD.replace("\n", " "), "• • •"]


def test_extract_batch_equals_extract_one_by_one(tiny_skill_bundle: Path, esco: LabelIndex) -> None:
    fp32 = SkillExtractor(Encoder.open(tiny_skill_bundle, precision="fp32"), esco,
                          ExtractSettings(threshold=TINY_THRESHOLD))
    batch = fp32.extract_batch(BATCH_TEXTS)
    assert_same_matches(batch, [fp32.extract(t) for t in BATCH_TEXTS])
    assert batch[1] == [] and batch[5] == [] and batch[0]
    assert fp32.extract_batch([]) == []


def test_int8_extract_batch_equals_extract_one_by_one(extractor: SkillExtractor) -> None:
    """Per-row int8 activations: a sentence's matches do not depend on its batch-mates (issue 9)."""
    assert_same_matches(extractor.extract_batch(BATCH_TEXTS), [extractor.extract(t) for t in BATCH_TEXTS])


def test_extract_sentences_then_merge_is_extract(extractor: SkillExtractor) -> None:
    spans = split_sentences(AD)
    per_sentence = extractor.extract_sentences([s.text for s in spans])
    assert len(per_sentence) == len(spans)
    for span, matches in zip(spans, per_sentence):
        assert extractor.settings.k is None or len(matches) <= extractor.settings.k
        for m in matches:  # offsets relative to the sentence
            check_match(m, span.text)
            assert (m.sentence_start, m.sentence_end) == (0, len(span.text))
    merged = merge_sentences(spans, per_sentence)
    assert merged == extractor.extract(AD)
    for m in merged:
        check_match(m, AD)


def test_merge_keeps_the_best_sentence_per_skill_and_shifts_offsets() -> None:
    from workvec import Evidence

    text = "Use Python. Know Python well."
    spans = [Span("Use Python.", 0, 11), Span("Know Python well.", 12, 29)]

    def match(cid: str, score: float, sentence: str, word: str) -> SkillMatch:
        start = sentence.index(word)
        return SkillMatch(cid, cid, score, sentence, 0, len(sentence),
                          (Evidence(word, start, start + len(word), 1.0),))

    per_sentence = [[match("py", 0.7, spans[0].text, "Python"), match("use", 0.65, spans[0].text, "Use")],
                    [match("py", 0.9, spans[1].text, "Python"), match("know", 0.6, spans[1].text, "Know")]]
    merged = merge_sentences(spans, per_sentence)
    assert [(m.id, m.score) for m in merged] == [("py", 0.9), ("use", 0.65), ("know", 0.6)]
    for m in merged:
        check_match(m, text)
    assert (merged[0].sentence_start, merged[0].evidence[0].start) == (12, 17)
    tie = merge_sentences(spans, [[match("py", 0.8, spans[0].text, "Python")], [match("py", 0.8, spans[1].text, "Python")]])
    assert tie[0].sentence_start == 0  # the first sentence wins a tie
    assert merge_sentences([], []) == []
    with pytest.raises(InputError, match="spans"):
        merge_sentences(spans, per_sentence[:1])


# --- input contract --------------------------------------------------------------------------------------------------


def test_skill_extractor_needs_a_skill_bundle(tiny_title_bundle: Path, esco: LabelIndex, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="skill bundle"):
        SkillExtractor(Encoder.open(tiny_title_bundle), esco)
    with pytest.raises(InputError, match="skill bundle"):
        SkillExtractor.open(tiny_title_bundle, index_dir=tmp_path, progress=False)


def test_open_builds_the_same_extractor(tiny_skill_bundle: Path, extractor: SkillExtractor, tmp_path_factory) -> None:
    opened = SkillExtractor.open(tiny_skill_bundle, threshold=TINY_THRESHOLD, k=extractor.settings.k,
                                 index_dir=shared_index_dir(tmp_path_factory, "esco"), progress=False)
    assert opened.settings == extractor.settings and opened.labels.taxonomy.name == "esco-skills"
    assert opened.extract(AD) == extractor.extract(AD)
    with pytest.raises(TypeError):
        SkillExtractor.open(tiny_skill_bundle, "esco-skills")  # type: ignore[misc]  # options are keyword-only


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t", "-----\n* * *", "• • •"])
def test_text_without_words_has_no_skills(extractor: SkillExtractor, text: str) -> None:
    assert extractor.extract(text) == []


@pytest.mark.parametrize("text", [None, b"Python programming", ["Python programming"], 42])
def test_non_string_text_is_a_type_error(extractor: SkillExtractor, text) -> None:
    with pytest.raises(TypeError, match="text must be str"):
        extractor.extract(text)


@pytest.mark.parametrize("kwargs", [{"threshold": -0.1}, {"threshold": 1.5}, {"threshold": math.nan},
                                    {"k": 0}, {"token_k": 0}, {"sentence_k": -3}, {"ef": 0}])
def test_bad_settings_are_input_errors(kwargs) -> None:
    with pytest.raises(InputError):
        ExtractSettings(**kwargs)


# --- long ads (SkillSpan sentences from the shared data) ------------------------------------------------------------


def _corpus_lines(limit_chars: int) -> list[str]:
    path = shared_path("corpus", "skillspan", "json", "train.json")
    lines, size = [], 0
    while size < limit_chars:
        with open(path, encoding="utf-8") as fh:
            for raw in fh:
                line = " ".join(json.loads(raw)["tokens"])
                lines.append(line)
                size += len(line) + 1
                if size >= limit_chars:
                    break
    return lines


def test_a_multi_chunk_ad(extractor: SkillExtractor) -> None:
    lines = [line for line in _corpus_lines(40_000) if len(line.split()) >= 6][: 2 * SENTENCES_PER_CHUNK + 5]
    ad = "\n".join(lines)
    sentences = {s.text for s in split_sentences(ad)}
    assert len(sentences) > 2 * SENTENCES_PER_CHUNK
    found = extractor.extract(ad)
    assert len(found) > 10 and len({m.id for m in found}) == len(found)
    assert {m.sentence for m in found} <= sentences
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)
    for match in found:
        check_match(match, ad)


@pytest.mark.slow
def test_a_one_megabyte_ad_completes(extractor: SkillExtractor) -> None:
    ad = "\n".join(_corpus_lines(1_000_000))
    assert len(ad) >= 1_000_000
    found = extractor.extract(ad)
    assert isinstance(found, list) and found
    assert len({m.id for m in found}) == len(found)
