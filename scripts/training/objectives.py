"""The two training objectives on one encoder (transformer + mean pooling, what the bundle computes).

Titles: InfoNCE over cosines of mean-pooled, L2-normalised vectors (in-batch and hard negatives).
Skills: InfoNCE over ConTeXT-match scores (Decorte et al. 2025, eq. 1): for sentence x with token vectors z_xj
and skill vector z_s (mean-pooled, not normalised), match(x, s) = sum_j alpha_j cos(z_xj, z_s) with
alpha = softmax_j(z_xj . z_s) over the sentence's real tokens (special tokens included, as in the runtime).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def embed(model, texts: Sequence[str], max_length: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(token vectors [B, L, d], attention mask [B, L] as float, mean-pooled vectors [B, d])."""
    batch = model.tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    tokens = model[0].auto_model(**batch, return_dict=False)[0]
    mask = batch["attention_mask"].to(tokens.dtype)
    pooled = (tokens * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1.0)
    return tokens, mask, pooled


def contextmatch(tokens: torch.Tensor, mask: torch.Tensor, skills: torch.Tensor) -> torch.Tensor:
    """ConTeXT-match scores [B, K] of B sentences against K skill vectors."""
    dots = torch.einsum("bld,kd->bkl", tokens, skills)
    dots = dots.masked_fill(mask.unsqueeze(1) == 0, float("-inf"))
    alpha = torch.softmax(dots, dim=-1)
    cos = torch.einsum("bld,kd->bkl", F.normalize(tokens, dim=-1), F.normalize(skills, dim=-1))
    return (alpha * cos).sum(-1)


def _columns(targets: Sequence[str], negatives: Sequence[str]) -> tuple[list[str], list[int]]:
    labels = list(dict.fromkeys([*targets, *negatives]))
    where = {label: i for i, label in enumerate(labels)}
    return labels, [where[t] for t in targets]


def _infonce(scores: torch.Tensor, gold: list[int], labels: list[str], also_gold: Sequence[frozenset[str]],
             scale: float) -> torch.Tensor:
    """Cross-entropy towards each row's gold column; other golds of the same text are masked out."""
    blocked = torch.zeros_like(scores, dtype=torch.bool)
    for row, others in enumerate(also_gold):
        for col, label in enumerate(labels):
            if label in others and col != gold[row]:
                blocked[row, col] = True
    logits = (scores * scale).masked_fill(blocked, float("-inf"))
    return F.cross_entropy(logits, torch.tensor(gold))


def title_loss(model, texts: Sequence[str], targets: Sequence[str], negatives: Sequence[str],
               also_gold: Sequence[frozenset[str]], *, scale: float, max_length: int) -> torch.Tensor:
    """InfoNCE of titles against occupation labels (cosine of mean-pooled vectors)."""
    labels, gold = _columns(targets, negatives)
    _, _, queries = embed(model, texts, max_length)
    _, _, keys = embed(model, labels, max_length)
    scores = F.normalize(queries, dim=-1) @ F.normalize(keys, dim=-1).T
    return _infonce(scores, gold, labels, also_gold, scale)


def skill_loss(model, texts: Sequence[str], targets: Sequence[str], negatives: Sequence[str],
               also_gold: Sequence[frozenset[str]], *, scale: float, max_length: int) -> torch.Tensor:
    """InfoNCE of sentences against skill labels with ConTeXT-match scores."""
    labels, gold = _columns(targets, negatives)
    tokens, mask, _ = embed(model, texts, max_length)
    _, _, skills = embed(model, labels, max_length)
    return _infonce(contextmatch(tokens, mask, skills), gold, labels, also_gold, scale)
