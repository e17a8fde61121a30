"""ConTeXT-match scoring of skills against a sentence's token embeddings.

TechWolf's ConTeXT-match (arXiv 2505.24640) scores a skill ``s`` against a
sentence ``x`` from the sentence's token embeddings ``z_xj`` (the encoder's
last hidden state, special tokens included, padding excluded)::

    alpha_j    = softmax_j(z_xj . z_s)            # raw dot products, temperature 1
    match(x,s) = sum_j alpha_j * cos(z_xj, z_s)

Skill vectors ``z_s`` are mean-pooled embeddings and are *not* normalised: their
norm matters for the attention logits. Everything is vectorised over skills and
computed in float32; the softmax subtracts the per-skill maximum so logits in the
thousands do not overflow. Zero vectors score 0 (never NaN).
"""

from __future__ import annotations

import numpy as np

from workvec.errors import InputError

__all__ = [
    "attention",
    "cosine_scores",
    "match_scores",
    "match_scores_batch",
    "max_cosines",
    "compute_skill_norms",
]

_EPS = 1e-12
_F32 = np.float32


def _as_matrix(x: np.ndarray, name: str) -> np.ndarray:
    """Return ``x`` as a C-contiguous float32 2-D array or raise InputError."""
    arr = np.ascontiguousarray(x, dtype=_F32)
    if arr.ndim != 2:
        raise InputError(f"{name} must be 2-D (rows, dim), got shape {arr.shape}")
    return arr


def _check_dims(tokens: np.ndarray, skills: np.ndarray) -> None:
    """Raise InputError when token and skill dimensions differ."""
    if tokens.shape[1] != skills.shape[1]:
        raise InputError(
            f"token dim {tokens.shape[1]} != skill dim {skills.shape[1]}: "
            "embed tokens and skills with the same model"
        )


def _safe_inverse(norms: np.ndarray) -> np.ndarray:
    """1/norm as float32, with 0 where the norm is (numerically) zero."""
    norms = np.asarray(norms, dtype=_F32)
    out = np.zeros_like(norms)
    np.divide(_F32(1.0), norms, out=out, where=norms > _EPS)
    return out


def compute_skill_norms(skills: np.ndarray) -> np.ndarray:
    """L2 norms (S,) float32 of the skill vectors; compute once and pass to the scorers."""
    return np.linalg.norm(_as_matrix(skills, "skills"), axis=1).astype(_F32, copy=False)


def _skill_inverse(skills: np.ndarray, norms: np.ndarray | None) -> np.ndarray:
    """Safe inverse skill norms (S,), validating caller-supplied norms."""
    if norms is None:
        return _safe_inverse(np.linalg.norm(skills, axis=1))
    if np.shape(norms) != (skills.shape[0],):
        raise InputError(
            f"skill_norms must have shape ({skills.shape[0]},), got {np.shape(norms)}"
        )
    return _safe_inverse(norms)


def _softmax_logits(dot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stable column-wise softmax parts: exp(dot - max) (L, S) and its column sums (S,)."""
    weights = dot - dot.max(axis=0, keepdims=True)
    np.exp(weights, out=weights)
    return weights, weights.sum(axis=0)


def _score_block(
    tokens: np.ndarray, tok_inv: np.ndarray, skills: np.ndarray, sk_inv: np.ndarray
) -> np.ndarray:
    """ConTeXT-match scores (S,) of one sentence against one block of skills."""
    dot = tokens @ skills.T  # (L, S) attention logits
    weights, denom = _softmax_logits(dot)
    dot *= tok_inv[:, None]  # dot becomes the cosine matrix in place
    dot *= sk_inv[None, :]
    numer = np.einsum("ls,ls->s", weights, dot)
    return numer / denom  # denom >= 1: the max column entry contributes exp(0)


def match_scores(
    tokens: np.ndarray, skills: np.ndarray, skill_norms: np.ndarray | None = None
) -> np.ndarray:
    """ConTeXT-match scores (S,) float32 of one sentence's tokens (L, d) vs skills (S, d).

    ``tokens`` holds real tokens only (no padding); ``skill_norms`` are the
    precomputed L2 norms of ``skills`` (computed here when omitted).
    """
    tok = _as_matrix(tokens, "tokens")
    sk = _as_matrix(skills, "skills")
    _check_dims(tok, sk)
    sk_inv = _skill_inverse(sk, skill_norms)
    if tok.shape[0] == 0:
        return np.zeros(sk.shape[0], dtype=_F32)
    tok_inv = _safe_inverse(np.linalg.norm(tok, axis=1))
    return _score_block(tok, tok_inv, sk, sk_inv)


def match_scores_batch(
    token_list: list[np.ndarray],
    skills: np.ndarray,
    chunk: int = 4096,
    skill_norms: np.ndarray | None = None,
) -> np.ndarray:
    """Scores (n_sentences, S) float32; skills go in chunks so memory stays ~L*chunk floats."""
    if chunk < 1:
        raise InputError(f"chunk must be >= 1, got {chunk}")
    sk = _as_matrix(skills, "skills")
    sk_inv = _skill_inverse(sk, skill_norms)
    n_skills = sk.shape[0]
    out = np.zeros((len(token_list), n_skills), dtype=_F32)
    for row, tokens in enumerate(token_list):
        tok = _as_matrix(tokens, f"token_list[{row}]")
        _check_dims(tok, sk)
        if tok.shape[0] == 0:
            continue
        tok_inv = _safe_inverse(np.linalg.norm(tok, axis=1))
        for lo in range(0, n_skills, chunk):
            hi = min(lo + chunk, n_skills)
            out[row, lo:hi] = _score_block(tok, tok_inv, sk[lo:hi], sk_inv[lo:hi])
    return out


def max_cosines(token_list: list[np.ndarray], unit_skills: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """(n_sentences, S) float32: max over each sentence's tokens of cos(z_xj, z_s), an upper bound of match(x, s).

    match is an alpha-weighted mean of the cosines (alpha sums to 1), so a skill whose bound is below a
    threshold cannot score above it. One matrix product for all sentences' tokens per chunk of skills;
    ``unit_skills`` must be L2-normalised rows. Sentences without tokens get -1.
    """
    sk = _as_matrix(unit_skills, "unit_skills")
    out = np.full((len(token_list), sk.shape[0]), -1.0, dtype=_F32)
    kept = [i for i, t in enumerate(token_list) if len(t)]
    if not kept:
        return out
    tok = np.concatenate([_as_matrix(token_list[i], f"token_list[{i}]") for i in kept])
    _check_dims(tok, sk)
    tok *= _safe_inverse(np.linalg.norm(tok, axis=1))[:, None]
    bounds = np.cumsum([0] + [len(token_list[i]) for i in kept])
    for lo in range(0, sk.shape[0], chunk):
        cos = tok @ sk[lo:lo + chunk].T
        for i, start, stop in zip(kept, bounds[:-1], bounds[1:]):  # faster than np.maximum.reduceat here
            np.max(cos[start:stop], axis=0, out=out[i, lo:lo + chunk])
    return out


def attention(tokens: np.ndarray, skill: np.ndarray) -> np.ndarray:
    """Evidence weights alpha (L,) float32 of one skill (d,) over the tokens (L, d)."""
    tok = _as_matrix(tokens, "tokens")
    sk = _as_matrix(np.reshape(skill, (1, -1)), "skill")
    _check_dims(tok, sk)
    if tok.shape[0] == 0:
        return np.zeros(0, dtype=_F32)
    weights, denom = _softmax_logits(tok @ sk.T)
    return (weights[:, 0] / denom[0]).astype(_F32, copy=False)


def cosine_scores(sentence_vecs: np.ndarray, skills: np.ndarray) -> np.ndarray:
    """Plain cosine baseline (q, S) float32 between sentence vectors (q, d) and skills."""
    vecs = _as_matrix(np.atleast_2d(sentence_vecs), "sentence_vecs")
    sk = _as_matrix(skills, "skills")
    _check_dims(vecs, sk)
    cos = vecs @ sk.T
    cos *= _safe_inverse(np.linalg.norm(vecs, axis=1))[:, None]
    cos *= _safe_inverse(np.linalg.norm(sk, axis=1))[None, :]
    return cos
