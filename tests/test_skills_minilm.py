"""SkillExtractor with all-MiniLM-L6-v2 (integration tier): real skills found in an ad, and HNSW candidates that keep
the exact top-10 on the SkillSpan validation sentences (shared data)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from conftest import open_esco_hnsw, shared_path
from skills_support import AD, check_match
from workvec import Encoder, ExtractSettings, SkillExtractor

pytestmark = pytest.mark.integration

@pytest.fixture(scope="module")
def minilm(minilm_skill: Path, tmp_path_factory) -> SkillExtractor:
    encoder = Encoder.open(minilm_skill)
    return SkillExtractor(encoder, open_esco_hnsw(encoder, tmp_path_factory))


def test_minilm_finds_the_obvious_skills(minilm: SkillExtractor) -> None:
    found = minilm.extract(AD).skills
    assert min(m.score for m in found) >= minilm.settings.threshold
    labels = {m.label for m in found}
    assert {"Python (computer programming)", "operate forklift"} <= labels, sorted(labels)
    for match in found:
        check_match(match, AD)
    (python,) = [m for m in found if m.label == "Python (computer programming)"]
    assert python.sentence == "Strong Python programming skills are required."


def test_minilm_reference_top_skill(minilm: SkillExtractor) -> None:
    exact = SkillExtractor(minilm.encoder, minilm.labels, ExtractSettings(exact=True))
    (encoded,) = minilm.encoder.encode_tokens(["Strong Python programming skills are required."])
    rows, scores = exact.score_sentence_tokens(encoded.vectors)
    assert minilm.labels.labels[int(rows[np.argmax(scores)])] == "Python (computer programming)"


def _validation_sentences(split: str) -> list[str]:
    path = shared_path("bench", "skillspan_esco", f"{split}_validation_annotations.csv")
    with open(path, encoding="utf-8", newline="") as fh:
        return list(dict.fromkeys(row["sentence"] for row in csv.DictReader(fh)))


@pytest.mark.parametrize("split", ["house", "tech"])
def test_candidates_keep_the_exact_top10(split: str, minilm: SkillExtractor) -> None:
    sentences = _validation_sentences(split)
    assert len(sentences) > 50
    exact = SkillExtractor(minilm.encoder, minilm.labels, ExtractSettings(exact=True))
    kept, scored = [], []
    for encoded in minilm.encoder.encode_tokens(sentences):
        all_rows, all_scores = exact.score_sentence_tokens(encoded.vectors)
        top10 = all_rows[np.argsort(-all_scores, kind="stable")[:10]]
        rows, scores = minilm.score_sentence_tokens(encoded.vectors)
        np.testing.assert_allclose(scores, all_scores[rows], atol=1e-5)  # candidates get the exact scores
        kept.append(bool(np.isin(top10, rows).all()))
        scored.append(len(rows))
    share = float(np.mean(kept))
    print(f"{split.upper()} validation: candidates keep the exact top-10 for {share:.4f} of {len(kept)} sentences"
          f" (mean {np.mean(scored):.0f} of {len(minilm.labels.labels)} labels scored)")
    assert np.mean(scored) < 0.05 * len(minilm.labels.labels), "candidate mode should score a small subset"
    assert share >= 0.99, f"{split}: exact top-10 kept for only {share:.4f} of the sentences"
