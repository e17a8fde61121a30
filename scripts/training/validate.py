"""Validation-split MRR of the model being trained (checkpoint choice): JobBERT titles (preferred labels only, the
paper's protocol) and ConTeXT-match on HOUSE and TECH validation, with the benchmark's own loaders and metrics."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from quality_data import load_label_list, load_occupations, load_skill_queries, load_titles
from quality_metrics import SKILL_KEYS, TITLE_KEYS, Metrics

from training.objectives import contextmatch, embed

SKILL_SETS = ("house_validation", "tech_validation")


@dataclass(frozen=True)
class Validation:
    """The validation queries (titles possibly subsampled with a fixed seed) and their label spaces."""

    titles: list
    occupation_labels: list[str]
    skill_sets: dict[str, list]
    skill_labels: list[str]

    @classmethod
    def load(cls, data: Path, *, title_limit: int | None = None, seed: int = 0) -> Validation:
        taxonomy = load_occupations(data / "esco" / "occupations_en.csv")
        titles, _ = load_titles(data / "bench" / "jobbert" / "titles.validation.csv", taxonomy)
        if title_limit is not None and title_limit < len(titles):
            titles = random.Random(seed).sample(titles, title_limit)
        labels = load_label_list(data / "esco" / "skills_en_v1.1.0_labels.txt")
        sets = {name: load_skill_queries(data / "bench" / "skillspan_esco" / f"{name}_annotations.csv", labels)
                for name in SKILL_SETS}
        return cls(titles, [c.label for c in taxonomy.concepts], sets, labels)


@torch.inference_mode()
def _pooled(model, texts: list[str], max_length: int, batch: int = 256) -> torch.Tensor:
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = torch.empty(len(texts), model.get_sentence_embedding_dimension())
    for start in range(0, len(order), batch):
        chunk = order[start:start + batch]
        out[chunk] = embed(model, [texts[i] for i in chunk], max_length)[2]
    return out


@torch.inference_mode()
def evaluate(model, val: Validation, *, max_length: int) -> dict[str, dict]:
    """{"titles": metrics, "<skill set>": metrics, ...}; each metrics dict has MRR first."""
    model.eval()
    result: dict[str, dict] = {}
    occ = F.normalize(_pooled(model, val.occupation_labels, max_length), dim=-1)
    queries = F.normalize(_pooled(model, [q.title for q in val.titles], max_length), dim=-1)
    metrics = Metrics(TITLE_KEYS)
    for q, scores in zip(val.titles, (queries @ occ.T).numpy()):
        metrics.add_title(scores, q.target)
    result["titles"] = metrics.summary()
    skills = _pooled(model, val.skill_labels, max_length)
    for name, items in val.skill_sets.items():
        metrics = Metrics(SKILL_KEYS)
        for q in items:
            tokens, mask, _ = embed(model, [q.sentence], max_length)
            scores = contextmatch(tokens, mask, skills)[0].numpy().astype(np.float64)
            metrics.add_skill(scores, q.relevant)
        result[name] = metrics.summary()
    model.train()
    return result


def score(result: dict[str, dict]) -> float:
    """The one number checkpoints are chosen by: mean of title MRR and the skill sets' mean MRR."""
    skill = np.mean([result[name]["MRR"] for name in SKILL_SETS])
    return float((result["titles"]["MRR"] + skill) / 2)
