"""Training data of scripts/train_default.py: open sources only, and no benchmark sentence trained on."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from conftest import shared_path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from training.data import _spans, benchmark_sentences, first_sentence, fold, skillspan_links


def test_text_helpers() -> None:
    assert fold("  Python, ") == "python" and fold("Project  Management.") == "project management"
    assert first_sentence("Nurses care for patients. They also teach.") == "Nurses care for patients."
    assert _spans(["use", "Python", "and", "SQL", "daily"], ["O", "B", "O", "B", "I"]) == ["Python", "SQL daily"]
    assert _spans(["a", "b"], ["I", "O"]) == []


def test_skillspan_links_exclude_every_benchmark_sentence() -> None:
    data = shared_path("corpus", "skillspan", "json", "train.json").parents[3]
    bench = data / "bench" / "skillspan_esco"
    banned = benchmark_sentences(bench)
    assert len(banned) > 800

    def no_embedding_links(texts: list[str]) -> np.ndarray:  # exact links only: every span far from every label
        return np.eye(len(texts), 8, dtype=np.float32)

    labels = [f"label {i}" for i in range(8)]
    pairs, counts = skillspan_links(data / "corpus" / "skillspan" / "json" / "train.json",
                                    data / "esco" / "skills_en.csv", bench, no_embedding_links, labels)
    assert counts["benchmark_sentences_excluded"] > 0 and counts["skillspan_exact_links"] > 500
    assert pairs and not {fold(p.text) for p in pairs} & banned
    assert all(p.source == "skillspan" and p.target for p in pairs)
