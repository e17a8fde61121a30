"""Batches, hard negatives and the training loop (fixed seeds; every setting and validation score recorded)."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from training.data import Corpus, Pair
from training.objectives import skill_loss, title_loss

TITLE_MIX = {"alt": 0.85, "description": 0.15}
SKILL_MIX = {"alt": 0.45, "description": 0.15, "skillspan": 0.40}


@dataclass(frozen=True)
class Settings:
    """Every knob of a training run (recorded in train.json)."""

    steps: int = 300
    title_batch: int = 48
    skill_batch: int = 24
    hard_negatives: int = 1
    lr: float = 8e-5
    warmup: float = 0.1
    scale: float = 20.0
    title_max_length: int = 32
    skill_max_length: int = 64
    eval_every: int = 150
    seed: int = 13
    freeze_embeddings: bool = True

    def to_json(self) -> dict:
        return asdict(self)


class Sampler:
    """Batches drawn by source weight, no target twice in a batch; each text's other golds known for masking."""

    def __init__(self, pairs: Sequence[Pair], mix: dict[str, float], neighbours: dict[str, list[str]],
                 rng: random.Random) -> None:
        self.by_source: dict[str, list[Pair]] = defaultdict(list)
        for pair in pairs:
            self.by_source[pair.source].append(pair)
        self.sources = [s for s in mix if self.by_source[s]]
        self.weights = [mix[s] for s in self.sources]
        self.golds: dict[str, set[str]] = defaultdict(set)
        for pair in pairs:
            self.golds[pair.text].add(pair.target)
        self.neighbours, self.rng = neighbours, rng

    def batch(self, size: int, hard: int) -> tuple[list[str], list[str], list[str], list[frozenset[str]]]:
        chosen: list[Pair] = []
        seen: set[str] = set()
        while len(chosen) < size:
            source = self.rng.choices(self.sources, self.weights)[0]
            pair = self.rng.choice(self.by_source[source])
            if pair.target not in seen:
                seen.add(pair.target)
                chosen.append(pair)
        negatives = []
        for pair in chosen:
            near = [n for n in self.neighbours.get(pair.target, []) if n not in self.golds[pair.text]]
            negatives += self.rng.sample(near, min(hard, len(near)))
        return ([p.text for p in chosen], [p.target for p in chosen], negatives,
                [frozenset(self.golds[p.text]) for p in chosen])


def neighbours(labels: list[str], vectors: np.ndarray, k: int = 8, chunk: int = 2048) -> dict[str, list[str]]:
    """Each label's k nearest other labels by zero-shot cosine (hard negatives)."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    found: dict[str, list[str]] = {}
    for start in range(0, len(labels), chunk):
        sims = unit[start:start + chunk] @ unit.T
        for row in range(sims.shape[0]):
            sims[row, start + row] = -np.inf
        top = np.argpartition(-sims, k, axis=1)[:, :k]
        for row, cols in enumerate(top):
            cols = cols[np.argsort(-sims[row, cols])]
            found[labels[start + row]] = [labels[c] for c in cols if labels[c] != labels[start + row]]
    return found


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def train(model, corpus: Corpus, near: dict[str, dict[str, list[str]]], settings: Settings,
          validate: Callable[[int], float], log: Callable[[str], None]) -> list[dict]:
    """Run `settings.steps` steps; call `validate(step)` every `eval_every` steps and at the end."""
    rng = random.Random(settings.seed)
    titles = Sampler(corpus.titles, TITLE_MIX, near["titles"], rng)
    skills = Sampler(corpus.skills, SKILL_MIX, near["skills"], rng)
    if settings.freeze_embeddings:
        model[0].auto_model.embeddings.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=settings.lr, weight_decay=0.01)
    warm = max(1, int(settings.warmup * settings.steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (settings.steps - s) / max(1, settings.steps - warm)))
    history: list[dict] = []
    model.train()
    started = time.monotonic()
    for step in range(1, settings.steps + 1):
        t_texts, t_targets, t_negs, t_golds = titles.batch(settings.title_batch, settings.hard_negatives)
        s_texts, s_targets, s_negs, s_golds = skills.batch(settings.skill_batch, settings.hard_negatives)
        lt = title_loss(model, t_texts, t_targets, t_negs, t_golds, scale=settings.scale,
                        max_length=settings.title_max_length)
        ls = skill_loss(model, s_texts, s_targets, s_negs, s_golds, scale=settings.scale,
                        max_length=settings.skill_max_length)
        optim.zero_grad(set_to_none=True)
        (lt + ls).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optim.step()
        sched.step()
        history.append({"step": step, "title_loss": round(lt.item(), 4), "skill_loss": round(ls.item(), 4)})
        if step % 10 == 0:
            rate = (time.monotonic() - started) / step
            recent = history[-10:]
            log(f"step {step}/{settings.steps} title loss {np.mean([h['title_loss'] for h in recent]):.3f}"
                f" skill loss {np.mean([h['skill_loss'] for h in recent]):.3f} ({rate:.2f} s/step,"
                f" ~{rate * (settings.steps - step) / 60:.0f} min left)")
        if step % settings.eval_every == 0 or step == settings.steps:
            history[-1]["validation"] = validate(step)
    return history
