"""Requirement-sentence filter (workvec.runtime.requirement): real MiniLM skill bundle, real SkillSpan data."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from workvec.runtime.encoder import Encoder
from workvec.runtime.requirement import (FILTER_FILE, RequirementFilter, RequirementFilterError, find_filter,
                                         packaged_path, sentence_features)

SHARED = Path(os.environ.get("WORKVEC_SHARED", Path(__file__).resolve().parents[2] / "shared" / "data"))
SKILLSPAN_TEST = SHARED / "corpus" / "skillspan" / "json" / "test.json"
MINILM_SHA = "6d6ab063bb275daae76497c58df544db069ca3357bb9746e27cfce82670a5d43"


@pytest.fixture(scope="module")
def encoder(minilm_skill: Path) -> Encoder:
    return Encoder.open(minilm_skill, precision="int8", providers="cpu", threads=1)


@pytest.mark.integration
def test_the_default_bundle_finds_the_packaged_filter(encoder: Encoder) -> None:
    """What `workvec demo` exports (the default model through the full export) is what the filter was trained on."""
    assert encoder.manifest.files["model.onnx"]["sha256"] == MINILM_SHA
    assert find_filter(encoder) == packaged_path(MINILM_SHA)
    loaded = RequirementFilter.for_encoder(encoder)
    assert loaded.precision == "int8" and loaded.weights.shape == (384,) and 0 < loaded.threshold < 1


@pytest.mark.integration
def test_requirements_kept_boilerplate_skipped(encoder: Encoder) -> None:
    rf = RequirementFilter.for_encoder(encoder)
    kept = ["Strong Python programming skills are required.", "You have experience with SQL databases and ETL.",
            "Excellent written and verbal communication skills in English."]
    skipped = ["<ADDRESS> <ADDRESS> <LOCATION> - <LOCATION>", "Date posted: 2021-04-22",
               "We offer a company pension scheme and bike loans."]
    keep = rf.keep([e.vectors for e in encoder.encode_tokens(kept + skipped)])
    assert keep.tolist() == [True] * len(kept) + [False] * len(skipped)


@pytest.mark.integration
def test_filter_separates_skillspan_test_sentences(encoder: Encoder) -> None:
    if not SKILLSPAN_TEST.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SKILLSPAN_TEST} missing under CI")
        pytest.skip("shared data absent")
    rows = [json.loads(line) for line in SKILLSPAN_TEST.read_text(encoding="utf-8").splitlines()][::12]
    texts = [" ".join(r["tokens"]) for r in rows]
    y = np.asarray([any(t != "O" for t in r["tags_skill"] + r["tags_knowledge"]) for r in rows])
    tokens = [e.vectors for e in encoder.encode_tokens(texts)]
    p = RequirementFilter.for_encoder(encoder).probabilities(sentence_features(tokens))
    auc = (p[y][:, None] > p[~y][None, :]).mean()
    assert auc > 0.85, auc  # full test split: 0.907 (scripts/train_requirement_filter.py)


@pytest.mark.integration
def test_features_are_the_bundles_mean_pooling(encoder: Encoder) -> None:
    texts = ["Build data pipelines in Apache Spark.", "Forklift licence required"]
    pooled = encoder.encode(texts)
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    assert np.allclose(sentence_features([e.vectors for e in encoder.encode_tokens(texts)]), pooled, atol=1e-5)


@pytest.mark.integration
def test_a_filter_for_another_model_is_refused(encoder: Encoder, minilm_title: Path) -> None:
    title_encoder = Encoder.open(minilm_title, precision="int8", providers="cpu", threads=1)
    with pytest.raises(RequirementFilterError, match="trained for the model with sha256 6d6ab063bb27"):
        RequirementFilter.for_encoder(title_encoder, packaged_path(MINILM_SHA))
    with pytest.raises(RequirementFilterError, match="no requirement filter trained for the bundle"):
        RequirementFilter.for_encoder(title_encoder)


@pytest.mark.integration
def test_precision_must_match(encoder: Encoder) -> None:
    rf = RequirementFilter.load(packaged_path(MINILM_SHA), "fp32")
    with pytest.raises(RequirementFilterError, match="fp32 weights; the encoder runs int8"):
        rf.check(encoder)


@pytest.mark.integration
def test_an_altered_filter_is_refused(tmp_path: Path, encoder: Encoder) -> None:
    payload = json.loads(packaged_path(MINILM_SHA).read_text(encoding="utf-8"))
    payload["models"]["int8"]["threshold"] = 0.0  # keep everything: must not load silently
    altered = tmp_path / FILTER_FILE
    altered.write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(RequirementFilterError, match="sha256 mismatch"):
        RequirementFilter.for_encoder(encoder, altered)


@pytest.mark.integration
def test_the_bundles_own_filter_wins(tmp_path: Path, minilm_skill: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(minilm_skill, bundle)
    shutil.copy(packaged_path(MINILM_SHA), bundle / FILTER_FILE)
    enc = Encoder.open(bundle, precision="int8", providers="cpu", threads=1)
    assert find_filter(enc) == bundle / FILTER_FILE
