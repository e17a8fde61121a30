"""ConTeXT-match scoring against a loop-based float64 reference of the paper's formula."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workvec.errors import InputError
from workvec.runtime.contextmatch import (
    attention,
    compute_skill_norms,
    cosine_scores,
    match_scores,
    match_scores_batch,
    max_cosines,
)


def reference_match(tokens: np.ndarray, skills: np.ndarray) -> np.ndarray:
    """match(x,s) = sum_j softmax_j(z_xj . z_s) * cos(z_xj, z_s), straight from the definition."""
    tokens = np.asarray(tokens, dtype=np.float64)
    skills = np.asarray(skills, dtype=np.float64)
    scores = np.zeros(len(skills))
    for s, z_s in enumerate(skills):
        logits = [float(z_x @ z_s) for z_x in tokens]
        top = max(logits)
        exps = [math.exp(v - top) for v in logits]
        total = sum(exps)
        score = 0.0
        for z_x, e in zip(tokens, exps):
            denom = float(np.linalg.norm(z_x)) * float(np.linalg.norm(z_s))
            cos = float(z_x @ z_s) / denom if denom > 0 else 0.0
            score += (e / total) * cos
        scores[s] = score
    return scores


def _rand(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_reference_on_random_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    tokens = _rand(rng, 13, 32, scale=0.3)
    skills = _rand(rng, 40, 32, scale=0.3)
    got = match_scores(tokens, skills)
    assert got.dtype == np.float32 and got.shape == (40,)
    np.testing.assert_allclose(got, reference_match(tokens, skills), atol=1e-4)


def test_matches_reference_with_huge_logits() -> None:
    """Dot products ~1e3 would overflow a naive exp(); the stable softmax must not."""
    rng = np.random.default_rng(7)
    tokens = _rand(rng, 9, 16, scale=8.0)
    skills = _rand(rng, 25, 16, scale=8.0)
    assert np.abs(tokens @ skills.T).max() > 500
    got = match_scores(tokens, skills)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, reference_match(tokens, skills), atol=1e-4)


def test_skill_norm_is_not_normalised_away() -> None:
    """Scaling a skill sharpens attention, so the score changes (z_s is unnormalised)."""
    rng = np.random.default_rng(3)
    tokens = _rand(rng, 6, 8)
    skill = _rand(rng, 1, 8)
    scaled = np.concatenate([skill, skill * 10])
    got = match_scores(tokens, scaled)
    np.testing.assert_allclose(got, reference_match(tokens, scaled), atol=1e-4)
    assert abs(got[0] - got[1]) > 1e-3


def test_precomputed_norms_give_same_result() -> None:
    rng = np.random.default_rng(4)
    tokens, skills = _rand(rng, 5, 12), _rand(rng, 30, 12)
    norms = compute_skill_norms(skills)
    np.testing.assert_array_equal(match_scores(tokens, skills, norms), match_scores(tokens, skills))
    with pytest.raises(InputError):
        match_scores(tokens, skills, norms[:-1])


def test_batch_equals_per_sentence() -> None:
    rng = np.random.default_rng(5)
    skills = _rand(rng, 50, 24)
    sentences = [_rand(rng, n, 24) for n in (1, 4, 17, 9)]
    batch = match_scores_batch(sentences, skills)
    assert batch.shape == (4, 50) and batch.dtype == np.float32
    for row, tokens in enumerate(sentences):
        np.testing.assert_allclose(batch[row], match_scores(tokens, skills), atol=1e-6)


@pytest.mark.parametrize("chunk", [1, 7, 50, 10_000])
def test_chunking_invariance(chunk: int) -> None:
    rng = np.random.default_rng(6)
    skills = _rand(rng, 50, 24)
    sentences = [_rand(rng, n, 24) for n in (3, 11)]
    full = match_scores_batch(sentences, skills, chunk=10_000)
    np.testing.assert_allclose(match_scores_batch(sentences, skills, chunk=chunk), full, atol=1e-6)
    norms = compute_skill_norms(skills)
    np.testing.assert_allclose(
        match_scores_batch(sentences, skills, chunk=chunk, skill_norms=norms), full, atol=1e-6
    )


def test_zero_vectors_score_zero_without_nan() -> None:
    rng = np.random.default_rng(8)
    tokens = _rand(rng, 4, 10)
    tokens[2] = 0.0
    skills = _rand(rng, 5, 10)
    skills[1] = 0.0
    got = match_scores(tokens, skills)
    assert np.isfinite(got).all()
    assert got[1] == 0.0
    np.testing.assert_allclose(got, reference_match(tokens, skills), atol=1e-4)
    zero_sentence = np.zeros((3, 10), dtype=np.float32)
    assert not match_scores(zero_sentence, skills).any()
    assert np.isfinite(cosine_scores(np.zeros((1, 10)), skills)).all()


def test_empty_inputs() -> None:
    skills = np.ones((3, 4), dtype=np.float32)
    empty = np.zeros((0, 4), dtype=np.float32)
    np.testing.assert_array_equal(match_scores(empty, skills), np.zeros(3))
    assert match_scores(np.ones((2, 4)), np.zeros((0, 4))).shape == (0,)
    assert match_scores_batch([], skills).shape == (0, 3)
    np.testing.assert_array_equal(match_scores_batch([empty], skills), np.zeros((1, 3)))
    assert attention(empty, skills[0]).shape == (0,)


def test_attention_is_a_distribution() -> None:
    rng = np.random.default_rng(9)
    tokens = _rand(rng, 12, 16, scale=5.0)
    skill = _rand(rng, 16, scale=5.0)
    alpha = attention(tokens, skill)
    assert alpha.shape == (12,) and alpha.dtype == np.float32
    assert np.isfinite(alpha).all() and (alpha >= 0).all()
    assert alpha.sum() == pytest.approx(1.0, abs=1e-5)
    logits = tokens.astype(np.float64) @ skill.astype(np.float64)
    expected = np.exp(logits - logits.max())
    np.testing.assert_allclose(alpha, expected / expected.sum(), atol=1e-4)


def test_attention_weights_reproduce_score() -> None:
    rng = np.random.default_rng(10)
    tokens, skills = _rand(rng, 7, 16), _rand(rng, 3, 16)
    cos = cosine_scores(tokens, skills)
    scores = match_scores(tokens, skills)
    for s in range(3):
        assert float(attention(tokens, skills[s]) @ cos[:, s]) == pytest.approx(scores[s], abs=1e-5)


def test_cosine_scores_baseline() -> None:
    rng = np.random.default_rng(11)
    vecs, skills = _rand(rng, 4, 8), _rand(rng, 6, 8)
    got = cosine_scores(vecs, skills)
    v = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    s = skills / np.linalg.norm(skills, axis=1, keepdims=True)
    assert got.shape == (4, 6) and got.dtype == np.float32
    np.testing.assert_allclose(got, v @ s.T, atol=1e-5)
    np.testing.assert_allclose(cosine_scores(vecs[0], skills), got[:1], atol=1e-6)


def test_bad_shapes_raise_input_error() -> None:
    with pytest.raises(InputError):
        match_scores(np.ones((3, 4)), np.ones((2, 5)))
    with pytest.raises(InputError):
        match_scores(np.ones(4), np.ones((2, 4)))
    with pytest.raises(InputError):
        match_scores_batch([np.ones((3, 4))], np.ones((2, 4)), chunk=0)
    with pytest.raises(InputError):
        attention(np.ones((3, 4)), np.ones(5))


@pytest.mark.parametrize("seed", [0, 1])
def test_max_cosines_is_the_best_token_cosine_and_bounds_the_score(seed: int) -> None:
    rng = np.random.default_rng(seed)
    token_list = [_rand(rng, n, 24, scale=2.0) for n in (3, 1, 0, 17)]
    skills = _rand(rng, 50, 24, scale=1.5)
    unit = skills / np.linalg.norm(skills, axis=1, keepdims=True)
    bound = max_cosines(token_list, unit, chunk=16)
    assert bound.shape == (4, 50) and bound.dtype == np.float32
    assert (bound[2] == -1).all()  # no tokens: nothing can match
    for row, tokens in enumerate(token_list):
        if not len(tokens):
            continue
        cos = (tokens / np.linalg.norm(tokens, axis=1, keepdims=True)) @ unit.T
        np.testing.assert_allclose(bound[row], cos.max(axis=0), atol=1e-6)
        assert (match_scores(tokens, skills) <= bound[row] + 1e-5).all()
