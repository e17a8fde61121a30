"""Inputs of `speed.py`: paths, single-thread environment, bundles, benchmark texts and cached label vectors.

Everything built here lands in `.bench-cache/` (git-ignored) and is reused by later runs.
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from itertools import groupby
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared _common helpers
from _common import CACHE, SHARED_DATA, log

HERE = Path(__file__).resolve().parent
BUNDLES = CACHE / "bundles"
INDEXES = CACHE / "indexes"
VECTORS = CACHE / "vectors"
SKILLSPAN = SHARED_DATA / "corpus" / "skillspan" / "json"
JOBBERT_TITLES = SHARED_DATA / "bench" / "jobbert" / "titles.validation.csv"
SPLITS = ("train", "dev", "test")
SEED = 2024
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS")
PACKAGES = ("workvec", "onnxruntime", "onnx", "numpy", "hnswlib", "tokenizers", "torch", "sentence-transformers",
            "transformers", "matplotlib", "psutil")


@dataclass(frozen=True)
class Config:
    """Sizes of one run (`--quick` shrinks every one of them)."""

    quick: bool
    out: Path
    e2e_sentences: int  # whole ads are added until at least this many sentences
    e2e_max_ad: int | None  # quick mode cuts ads to this many sentences
    sweep_titles: int  # titles per batch size in the throughput sweep
    batches: tuple[int, ...]
    latency_titles: int  # one-title calls for the latency distribution
    index_queries: int  # recall@10 queries per label set
    index_singles: int  # single-query latency samples
    preferred_limit: int | None  # None: all ESCO skill preferred labels (13,939)
    all_limit: int | None  # None: all ESCO skill labels (99,924)
    synthetic_n: int | None  # None: the largest ladder size predicted to build in `synthetic_budget_s`
    synthetic_budget_s: float
    peak_reps: int
    profile_titles: int
    cold_runs: int
    build_threads: int


def make_config(quick: bool, out: Path) -> Config:
    """The full-run sizes, or tiny ones for `--quick`."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if quick:
        return Config(True, out, 40, 20, 128, (1, 8, 64, 128), 60, 50, 50, 3000, 10000, 10000, 20.0, 2, 256, 1,
                      cores)
    return Config(False, out, 2000, None, 1024, (1, 2, 4, 8, 16, 32, 64, 128), 1000, 1000, 300, None, None, None,
                  120.0, 5, 2048, 3, cores)


def single_thread_env() -> dict[str, str]:
    """This process's environment with every BLAS/OpenMP pool pinned to one thread (for child processes)."""
    env = dict(os.environ)
    env.update({name: "1" for name in THREAD_VARS})
    env["TOKENIZERS_PARALLELISM"] = "false"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH", "")) if p)
    return env


def model_dir() -> Path:
    """The sentence-transformers directory of all-MiniLM-L6-v2 (workvec's offline default)."""
    from workvec.defaults import default_model

    return default_model()


def bundle(kind: str) -> Path:
    """The workvec MiniLM bundle of `kind` ("title" or "skill"), exported through the parity gate once."""
    from workvec.runtime.manifest import MANIFEST_NAME

    out = BUNDLES / f"minilm-{kind}"
    if (out / MANIFEST_NAME).is_file():
        return out
    from workvec.export import ExportRequest, export_bundle

    log(f"exporting the MiniLM {kind} bundle -> {out} (a few minutes, once) ...")
    export_bundle(ExportRequest(model=str(model_dir()), kind=kind, out=out), log=log)
    return out


def model_files(path: Path) -> dict[str, int]:
    """Size in bytes of each model/index file directly under `path` (or of `path` itself)."""
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    return {p.name: p.stat().st_size for p in files if p.suffix in {".onnx", ".safetensors", ".bin", ".hnsw", ".npy"}}


# ------------------------------------------------------------------------------------------ texts
@dataclass(frozen=True)
class Ad:
    """One SkillSpan job posting: its sentences (tokens joined by spaces) in order."""

    key: str
    sentences: tuple[str, ...]


ADS_GROUPING = ("ads = runs of consecutive SkillSpan sentences sharing (split, source, idx); `idx` is the posting "
                "number within a split and source, so no fixed-size grouping was needed")


def skillspan_ads() -> list[Ad]:
    """All SkillSpan postings of train/dev/test, in file order."""
    ads: list[Ad] = []
    for split in SPLITS:
        rows = [json.loads(line) for line in (SKILLSPAN / f"{split}.json").read_text(encoding="utf-8").splitlines()
                if line.strip()]
        for (source, idx), group in groupby(rows, key=lambda r: (r["source"], r["idx"])):
            ads.append(Ad(f"{split}/{source}/{idx}", tuple(" ".join(r["tokens"]) for r in group)))
    return ads


def sample_ads(min_sentences: int, max_ad_sentences: int | None = None, seed: int = SEED) -> list[Ad]:
    """Whole postings in seeded random order until at least `min_sentences`; `max_ad_sentences` cuts long ones."""
    ads = skillspan_ads()
    random.Random(seed).shuffle(ads)
    chosen: list[Ad] = []
    total = 0
    for ad in ads:
        if total >= min_sentences:
            break
        sentences = ad.sentences[:max_ad_sentences] if max_ad_sentences else ad.sentences
        chosen.append(Ad(ad.key, sentences))
        total += len(sentences)
    return chosen


def job_titles(n: int, seed: int = SEED) -> list[str]:
    """`n` distinct vacancy titles of the JobBERT validation set (real job-board titles), seeded order."""
    import csv

    with open(JOBBERT_TITLES, encoding="utf-8", newline="") as fh:
        titles = [row["vacancyTitle"].strip() for row in csv.DictReader(fh)]
    unique = [t for t in dict.fromkeys(titles) if t]
    random.Random(seed).shuffle(unique)
    return unique[:n]


def skillspan_sentences(n: int, seed: int = SEED) -> list[str]:
    """`n` distinct SkillSpan sentences of at least 5 words (index queries)."""
    unique = list(dict.fromkeys(s for ad in skillspan_ads() for s in ad.sentences if len(s.split()) >= 5))
    random.Random(seed + 1).shuffle(unique)
    return unique[:n]


@dataclass(frozen=True)
class TextStats:
    """Length of a text set in characters and in tokens (special tokens included, MiniLM tokenizer)."""

    count: int
    chars_mean: float
    tokens_mean: float
    tokens_p50: float
    tokens_p95: float
    tokens_max: int


def text_stats(texts: Sequence[str]) -> dict:
    """TextStats of `texts` as a dict, with the skill bundle's tokenizer (truncation at max_seq_length)."""
    lengths = np.array([len(e.ids) for e in _tokenizer().encode_batch(list(texts))] or [0])
    return asdict(TextStats(len(texts), round(float(np.mean([len(t) for t in texts] or [0])), 1),
                            round(float(lengths.mean()), 1), float(np.percentile(lengths, 50)),
                            float(np.percentile(lengths, 95)), int(lengths.max())))


def _tokenizer():
    from workvec.runtime.manifest import TOKENIZER_FILE, read_manifest
    from workvec.runtime.tokenizer import load_tokenizer

    directory = bundle("skill")
    return load_tokenizer(directory / TOKENIZER_FILE, read_manifest(directory).max_seq_length)


def padding(ads: Sequence[Ad], batch: int) -> dict:
    """Tokens an encoder runs per ad vs the real tokens: sentence-transformers' way (length-sorted, fixed batches
    of `batch`) and workvec's (chunks of SENTENCES_PER_CHUNK sentences, `plan_batches`, which also closes a
    batch before a text under half the batch's longest)."""
    from workvec.runtime.skills import SENTENCES_PER_CHUNK
    from workvec.runtime.tokenizer import plan_batches

    tokenizer = _tokenizer()
    real = padded = planned = 0
    for ad in ads:
        lengths = sorted((len(e.ids) for e in tokenizer.encode_batch(list(ad.sentences))), reverse=True)
        real += sum(lengths)
        padded += sum(lengths[i] * len(lengths[i:i + batch]) for i in range(0, len(lengths), batch))
        for lo in range(0, len(ad.sentences), SENTENCES_PER_CHUNK):
            chunk = np.array([len(e.ids) for e in tokenizer.encode_batch(list(ad.sentences[lo:lo + SENTENCES_PER_CHUNK]))])
            planned += sum(len(idx) * int(chunk[idx[0]]) for idx in plan_batches(chunk, batch))
    return {"batch": batch, "real_tokens": real, "padded_tokens": padded, "ratio": round(padded / max(1, real), 2),
            "workvec_padded_tokens": planned, "workvec_ratio": round(planned / max(1, real), 2)}


def cached_vectors(name: str, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """`encode(texts)` as float32, cached under .bench-cache/vectors/`name`.npy with the texts' hash."""
    import hashlib

    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]
    path = VECTORS / f"{name}.{digest}.npy"
    if path.is_file():
        return np.load(path, allow_pickle=False)
    log(f"encoding {len(texts):,} texts for {name} (cached afterwards in {path.parent}) ...")
    vectors = np.ascontiguousarray(encode(list(texts)), dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors, allow_pickle=False)
    tmp.replace(path)
    return vectors


if __name__ == "__main__":  # `python benchmarks/speed/speed_setup.py`: export both bundles ahead of a run
    for kind in sys.argv[1:] or ["title", "skill"]:
        print(bundle(kind))
