"""SkillExtractor (ConTeXT-match over ESCO skills): exact scores, candidate recall, evidence spans, long ads.

Real all-MiniLM-L6-v2 skill bundle, the embedded ESCO skills, SkillSpan sentences from the shared data; no mocks.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from workvec.errors import InputError
from workvec.runtime.encoder import Encoder
from workvec.runtime.evidence import MAX_SPANS, evidence
from workvec.runtime.labels import LabelIndex
from workvec.runtime.sentences import split_sentences
from workvec.runtime.skills import SENTENCES_PER_CHUNK, ExtractSettings, SkillExtractor, SkillMatch
from conftest import open_esco_hnsw

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SKILLSPAN = DATA / "bench" / "skillspan_esco"
CORPUS = DATA / "corpus" / "skillspan" / "json"

AD = """Senior Data Engineer (m/f/d) – Zürich
Strong Python programming skills are required. Experience with SQL databases is a plus.
• Build ETL pipelines in Apache Spark; maintain our CI/CD (GitLab) and C++ services.
• Communicate with stakeholders, manage a small team and write technical documentation.
Erfahrung mit Führung ist ein Plus — naïve café talk 😀 is not.
You will drive a forklift truck in our warehouse when needed!"""



def reference_scores(tokens: np.ndarray, skills: np.ndarray) -> np.ndarray:
    """ConTeXT-match in plain float64 numpy: sum_j softmax_j(z_xj . z_s) * cos(z_xj, z_s), per skill."""
    t = tokens.astype(np.float64)
    s = skills.astype(np.float64)
    logits = t @ s.T
    weights = np.exp(logits - logits.max(axis=0, keepdims=True))
    weights /= weights.sum(axis=0, keepdims=True)
    cos = (t / np.linalg.norm(t, axis=1, keepdims=True)) @ (s / np.linalg.norm(s, axis=1, keepdims=True)).T
    return (weights * cos).sum(axis=0)


def check_evidence(match: SkillMatch) -> None:
    spans = match.evidence
    assert 1 <= len(spans) <= MAX_SPANS, match
    for e in spans:
        assert e.text == match.sentence[e.start:e.end] and e.text.strip() == e.text != "", (e, match.sentence)
        assert 0 < e.weight <= 1, e
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:])), f"spans overlap or are out of order: {spans}"
    assert sum(e.weight for e in spans) <= 1 + 1e-3


@pytest.fixture(scope="module")
def encoder(minilm_skill: Path) -> Encoder:
    return Encoder.open(minilm_skill)


@pytest.fixture(scope="module")
def esco(encoder: Encoder, tmp_path_factory) -> LabelIndex:
    return open_esco_hnsw(encoder, tmp_path_factory)


@pytest.fixture(scope="module")
def extractor(encoder: Encoder, esco: LabelIndex) -> SkillExtractor:
    return SkillExtractor(encoder, esco)


@pytest.fixture(scope="module")
def exact(encoder: Encoder, esco: LabelIndex) -> SkillExtractor:
    return SkillExtractor(encoder, esco, ExtractSettings(exact=True))


def test_exact_scores_equal_a_numpy_reference(encoder: Encoder, esco: LabelIndex, exact: SkillExtractor) -> None:
    raw = esco.raw_vectors()
    assert np.linalg.norm(raw, axis=1).min() > 1.5  # unnormalised: the norms shape the attention
    sentences = ["Python", "Strong Python programming skills are required.",
                 "Build ETL pipelines in Apache Spark; maintain our CI/CD (GitLab) and C++ services.",
                 "You will drive a forklift truck in our warehouse when needed!",
                 " ".join(["Communicate with stakeholders, manage a small team and write documentation."] * 6)]
    for sentence, tokens in zip(sentences, encoder.encode_tokens(sentences)):
        rows, scores = exact.score_sentence_tokens(tokens)
        np.testing.assert_array_equal(rows, np.arange(len(esco.labels)))
        want = reference_scores(tokens, raw)
        assert np.abs(scores - want).max() < 1e-4, (sentence, np.abs(scores - want).max())
        if sentence.startswith("Strong Python"):
            assert esco.labels[int(np.argmax(want))] == "Python (computer programming)"


def test_exact_extract_reports_the_reference_top_skills(encoder: Encoder, esco: LabelIndex,
                                                        exact: SkillExtractor) -> None:
    sentence = "Strong Python programming skills and experience with SQL databases are required."
    settings = ExtractSettings(threshold=0.5, top_k=5, exact=True)
    found = SkillExtractor(encoder, esco, settings).extract(sentence)
    (tokens,) = encoder.encode_tokens([sentence])
    want = reference_scores(tokens, esco.raw_vectors())
    top = [int(i) for i in np.argsort(-want)[:settings.top_k] if want[i] >= settings.threshold]
    assert [m.id for m in found] == [esco.taxonomy.concepts[esco.owners[i]].id for i in top]
    np.testing.assert_allclose([m.score for m in found], want[top], atol=1e-4)
    assert all(m.sentence == sentence for m in found)


def test_bounded_extract_equals_scoring_every_label(encoder: Encoder, esco: LabelIndex) -> None:
    """Exact mode scores only labels whose best token cosine reaches the threshold: same matches as all labels."""
    ad = ("We are hiring a nurse to care for patients and administer medication.\n"
          "You manage budgets, negotiate contracts with suppliers and report to the board.\n"
          "Experience with Java, Kubernetes and continuous integration is a plus.")
    settings = ExtractSettings(threshold=0.45, top_k=8, exact=True)
    found = {m.id: m.score for m in SkillExtractor(encoder, esco, settings).extract(ad)}
    best: dict[str, float] = {}
    for tokens in encoder.encode_tokens(ad.split("\n")):
        want = reference_scores(tokens, esco.raw_vectors())
        kept: list[str] = []
        for i in np.argsort(-want, kind="stable"):
            concept = esco.taxonomy.concepts[esco.owners[i]].id
            if want[i] < settings.threshold or len(kept) >= settings.top_k:
                break
            if concept not in kept:
                kept.append(concept)
                best[concept] = max(best.get(concept, -1.0), float(want[i]))
    assert len(best) > 5 and found.keys() == best.keys()
    np.testing.assert_allclose([found[k] for k in best], list(best.values()), atol=1e-4)


def _validation_sentences(split: str) -> list[str]:
    path = SKILLSPAN / f"{split}_validation_annotations.csv"
    if not path.is_file():
        pytest.skip(f"SkillSpan-ESCO validation annotations not found: {path}")
    with open(path, encoding="utf-8", newline="") as fh:
        return list(dict.fromkeys(row["sentence"] for row in csv.DictReader(fh)))


@pytest.mark.parametrize("split", ["house", "tech"])
def test_candidates_keep_the_exact_top10(split: str, encoder: Encoder, esco: LabelIndex, extractor: SkillExtractor,
                                         exact: SkillExtractor) -> None:
    sentences = _validation_sentences(split)
    assert len(sentences) > 50
    kept, scored = [], []
    for tokens in encoder.encode_tokens(sentences):
        all_rows, all_scores = exact.score_sentence_tokens(tokens)
        top10 = all_rows[np.argsort(-all_scores, kind="stable")[:10]]
        rows, scores = extractor.score_sentence_tokens(tokens)
        np.testing.assert_allclose(scores, all_scores[rows], atol=1e-5)  # candidates get the exact scores
        kept.append(bool(np.isin(top10, rows).all()))
        scored.append(len(rows))
    share = float(np.mean(kept))
    print(f"{split.upper()} validation: candidates keep the exact top-10 for {share:.4f} of {len(kept)} sentences"
          f" (mean {np.mean(scored):.0f} of {len(esco.labels)} labels scored)")
    assert np.mean(scored) < 0.05 * len(esco.labels), "candidate mode should score a small subset"
    assert share >= 0.99, f"{split}: exact top-10 kept for only {share:.4f} of the sentences"


def test_evidence_spans_with_real_offsets_never_overlap(encoder: Encoder) -> None:
    sentence = "Skills: C++, e-mail and CI/CD (naïve café 😀 Führung) – Zürich's R&D."
    (offsets,) = encoder.token_offsets([sentence])
    n = len(offsets)
    for peak in range(n):  # attention peaked on each token in turn, then on its neighbours
        for second in (peak - 1, peak + 1):
            alpha = np.full(n, 0.01, dtype=np.float32)
            alpha[peak] = 1.0
            alpha[second % n] = 0.6
            alpha[(second + (second - peak)) % n] = 0.4
            spans = evidence(sentence, alpha / alpha.sum(), offsets)
            match = SkillMatch("id", "label", 1.0, sentence, spans)
            check_evidence(match)
    alpha = np.zeros(n, dtype=np.float32)
    alpha[0] = alpha[-1] = 0.5  # all attention on the special tokens: nothing to show
    assert evidence(sentence, alpha, offsets) == ()


def test_extracted_skills_have_valid_evidence(encoder: Encoder, esco: LabelIndex) -> None:
    found = SkillExtractor(encoder, esco, ExtractSettings(threshold=0.3, top_k=8)).extract(AD)
    assert len(found) >= 20
    for match in found:
        assert match.sentence in AD
        check_evidence(match)


def test_extract_ranks_distinct_skills_above_the_threshold(encoder: Encoder, esco: LabelIndex,
                                                           extractor: SkillExtractor) -> None:
    found = extractor.extract(AD)
    assert found, "the calibrated threshold finds nothing in a plain ad"
    scores = [m.score for m in found]
    assert scores == sorted(scores, reverse=True)
    assert len({m.id for m in found}) == len(found)
    assert min(scores) >= extractor.settings.threshold
    labels = {m.label for m in found}
    assert {"Python (computer programming)", "operate forklift"} <= labels, sorted(labels)
    sentences = {s.text for s in split_sentences(AD)}
    assert {m.sentence for m in found} <= sentences
    one = SkillExtractor(encoder, esco, ExtractSettings(top_k=1)).extract(AD)
    assert 0 < len(one) <= len(sentences)
    assert len({m.sentence for m in one}) == len(one), "top_k=1 keeps one skill per sentence"


def test_skill_extractor_needs_a_skill_bundle(minilm_title: Path, esco: LabelIndex) -> None:
    with pytest.raises(InputError, match="skill bundle"):
        SkillExtractor(Encoder.open(minilm_title), esco)


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t", "-----\n* * *", "• • •"])
def test_text_without_words_has_no_skills(extractor: SkillExtractor, text: str) -> None:
    assert extractor.extract(text) == []


@pytest.mark.parametrize("text", [None, b"Python programming", ["Python programming"], 42])
def test_non_string_text_is_a_type_error(extractor: SkillExtractor, text) -> None:
    with pytest.raises(TypeError, match="text must be str"):
        extractor.extract(text)


@pytest.mark.parametrize("kwargs", [{"threshold": -0.1}, {"threshold": 1.5}, {"threshold": math.nan},
                                    {"top_k": 0}, {"token_k": 0}, {"sentence_k": -3}, {"ef": 0}])
def test_bad_settings_are_input_errors(kwargs) -> None:
    with pytest.raises(InputError):
        ExtractSettings(**kwargs)


def _corpus_lines(limit_chars: int) -> list[str]:
    path = CORPUS / "train.json"
    if not path.is_file():
        pytest.skip(f"SkillSpan corpus not found: {path}")
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
    assert len(found) > 20 and len({m.id for m in found}) == len(found)
    assert {m.sentence for m in found} <= sentences
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)


@pytest.mark.slow
def test_a_one_megabyte_ad_completes(extractor: SkillExtractor) -> None:
    ad = "\n".join(_corpus_lines(1_000_000))
    assert len(ad) >= 1_000_000
    found = extractor.extract(ad)
    assert isinstance(found, list) and found
    assert len({m.id for m in found}) == len(found)
