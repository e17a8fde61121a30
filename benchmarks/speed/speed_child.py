"""The workloads `speed.py` runs in child processes, one variant per process, pinned to one thread.

    python benchmarks/speed/speed_child.py MODE PARAMS.json   ->  one JSON object on stdout

Modes: `prepare` (build the cached indexes and label vectors, all cores), `titles` (one title variant: batch
sweep + batch-1 latencies), `e2e` (one skill-extraction variant over whole job ads).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared _common helpers
from _common import peak_rss_mib
from speed_setup import INDEXES, bundle, cached_vectors, model_dir

TOP = 5
Run = Callable[[list[str], int], list[list[str]]]  # titles, batch size -> concept ids per title, best first
TITLE_VARIANTS = ("workvec-int8", "workvec-fp32", "st-torch")
E2E_VARIANTS = ("workvec", "workvec-hnsw", "workvec-fp32", "reference")
SKILL_INDEX_DIR = INDEXES / "speed-hnsw"  # HNSW regardless of size (auto mode would pick exact for 14k labels)


# ------------------------------------------------------------------------------------------ loaders
def _torch_one_thread():
    import torch

    torch.set_num_threads(1)
    return torch


@lru_cache(maxsize=1)
def _st_model():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir()), device="cpu")


def skill_labels(encoder, threads: int = 1, rebuild: bool = False, hnsw: bool = True):
    """The LabelIndex over ESCO skill preferred labels (built on first use): HNSW, or the default spec (exact
    for 13,939 labels) when `hnsw` is False."""
    from workvec.runtime.labels import LabelIndex
    from workvec.runtime.taxonomy import load_taxonomy
    from workvec.runtime.vector_index import IndexSpec

    spec = IndexSpec(mode="hnsw" if hnsw else "auto", threads=threads)
    labels = LabelIndex.open(encoder, load_taxonomy("esco-skills"), index_dir=SKILL_INDEX_DIR, include_alt=False,
                             spec=spec, rebuild=rebuild, progress=False)
    if hnsw and labels.index.mode != "hnsw":
        raise RuntimeError(f"{SKILL_INDEX_DIR} holds a {labels.index.mode} index; delete it and rerun")
    return labels


def title_labels(encoder, rebuild: bool = False):
    """The LabelIndex over O*NET titles (default spec: exact below 20k labels)."""
    from workvec.runtime.labels import LabelIndex
    from workvec.runtime.taxonomy import load_taxonomy

    return LabelIndex.open(encoder, load_taxonomy("onet"), index_dir=INDEXES, rebuild=rebuild, progress=False)


def st_onet_vectors() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """sentence-transformers' normalized O*NET label vectors, owners and concept ids (the model loads only to
    fill the cache)."""
    from workvec.runtime.taxonomy import load_taxonomy

    tax = load_taxonomy("onet")
    labels, owners = tax.labels(include_alt=True)
    encode = lambda texts: _st_model().encode(texts, batch_size=128, normalize_embeddings=True)  # noqa: E731
    vectors = cached_vectors("st-onet-all", labels, encode)
    return vectors, np.asarray(owners), [c.id for c in tax.concepts]


def _pooled(texts: list[str]) -> np.ndarray:
    """workvec.export.reference.pooled_encoder: transformer + mean pooling only (unnormalised)."""
    from workvec.export.reference import pooled_encoder

    return pooled_encoder(_st_model())(texts)


def st_pooled_skills() -> tuple[np.ndarray, list[str]]:
    """workrb-style skill vectors of the ESCO skill preferred labels, and the concept ids."""
    from workvec.runtime.taxonomy import load_taxonomy

    tax = load_taxonomy("esco-skills")
    labels, _ = tax.labels(include_alt=False)
    return cached_vectors("st-pooled-esco-skills-preferred", labels, _pooled), [c.id for c in tax.concepts]


def top_concepts(scores: np.ndarray, owners: np.ndarray, ids: Sequence[str], k: int) -> list[str]:
    """The best `k` distinct concepts of one row of label scores (a concept scores by its best label)."""
    kk = min(len(scores), 4 * k)
    part = np.argpartition(-scores, kk - 1)[:kk]
    found: list[str] = []
    for row in part[np.argsort(-scores[part], kind="stable")]:
        concept = ids[owners[row]]
        if concept not in found:
            found.append(concept)
            if len(found) == k:
                break
    return found


def title_runner(variant: str) -> Run:
    """Load one title variant and return its titles -> concept ids function."""
    if variant.startswith("workvec-"):
        from workvec.runtime.encoder import Encoder
        from workvec.runtime.titles import TitleNormalizer

        encoder = Encoder.open(bundle("title"), precision=variant.split("-", 1)[1], providers="cpu", threads=1)
        normalizer = TitleNormalizer(encoder, title_labels(encoder))
        return lambda titles, b: [[m.id for m in ms] for ms in normalizer.search(titles, k=TOP, batch_size=b)]
    if variant == "st-torch":
        _torch_one_thread()
        model = _st_model()
        vectors, owners, ids = st_onet_vectors()

        def run(titles: list[str], b: int) -> list[list[str]]:
            query = model.encode(titles, batch_size=b, convert_to_numpy=True, normalize_embeddings=True)
            return [top_concepts(row, owners, ids, TOP) for row in query @ vectors.T]

        return run
    raise ValueError(f"unknown title variant {variant!r}; use one of {TITLE_VARIANTS}")


# ------------------------------------------------------------------------------------------ modes
def prepare(params: dict) -> dict:
    """Build every cache the timed children load, with all cores (not timed)."""
    from workvec.runtime.encoder import Encoder

    started = time.perf_counter()
    for precision in ("int8", "fp32"):
        title_labels(Encoder.open(bundle("title"), precision=precision, providers="cpu"))
    skill_labels(Encoder.open(bundle("skill"), precision="int8", providers="cpu"), threads=params.get("threads", 2))
    for precision in ("int8", "fp32"):
        skill_labels(Encoder.open(bundle("skill"), precision=precision, providers="cpu"), hnsw=False)
    if params.get("torch", True):
        st_onet_vectors()
        st_pooled_skills()
    return {"seconds": round(time.perf_counter() - started, 1)}


def titles(params: dict) -> dict:
    """Throughput per batch size over `titles`, then one-title latencies over `latency_titles`."""
    started = time.perf_counter()
    run = title_runner(params["variant"])
    load_s = time.perf_counter() - started
    items, latency_items = list(params["titles"]), list(params["latency_titles"])
    run(items[:32], 32)  # warm-up: first-run allocations and caches
    sweep = {}
    for b in params["batches"]:
        t0 = time.perf_counter()
        for i in range(0, len(items), b):
            run(items[i:i + b], b)
        sweep[str(b)] = round(len(items) / (time.perf_counter() - t0), 1)
    latencies, top1 = [], []
    for title in latency_items:
        t0 = time.perf_counter()
        found = run([title], 1)
        latencies.append(round((time.perf_counter() - t0) * 1e3, 4))
        top1.append(found[0][0] if found[0] else "")
    return {"variant": params["variant"], "load_s": round(load_s, 3), "titles_per_s": sweep,
            "latency_ms": latencies, "top1": top1}


Extract = Callable[[list[str]], int]  # one ad's sentences -> number of skills found


def workvec_extractor(variant: str) -> tuple[Extract, object]:
    """SkillExtractor over the skill bundle (ad text = sentences, one a line). `workvec`: the product default
    (int8, default index spec: exact with the cosine bound at 13,939 labels); `workvec-hnsw`: int8 with HNSW
    candidates (the path above 20k labels); `workvec-fp32`: fp32, exact (isolates int8 from the runtime)."""
    from workvec.runtime.encoder import Encoder
    from workvec.runtime.skills import SkillExtractor

    encoder = Encoder.open(bundle("skill"), precision="fp32" if variant == "workvec-fp32" else "int8", providers="cpu", threads=1)
    extractor = SkillExtractor(encoder, skill_labels(encoder, hnsw=variant == "workvec-hnsw"))
    return lambda ad: len(extractor.extract("\n".join(ad)).skills), extractor


def reference_extractor(threshold: float) -> tuple[Extract, list[list[str]]]:
    """workrb-style: ST token embeddings, torch ConTeXT-match against every label, top-5 over the threshold.
    The returned list collects each sentence's top-5 concept ids (no threshold) as a side effect."""
    torch = _torch_one_thread()
    model = _st_model()
    skills, ids = st_pooled_skills()
    sk = torch.from_numpy(skills)
    sk_inv = 1.0 / sk.norm(dim=1).clamp_min(1e-12)
    top5: list[list[str]] = []

    def extract(ad: list[str]) -> int:
        best: dict[str, float] = {}
        with torch.inference_mode():
            for tokens in model.encode(ad, batch_size=32, output_value="token_embeddings"):
                dot = tokens @ sk.T  # (L, S) attention logits against every label
                cos = dot * (1.0 / tokens.norm(dim=1).clamp_min(1e-12))[:, None] * sk_inv[None, :]
                scores = (torch.softmax(dot, dim=0) * cos).sum(dim=0)
                values, rows = torch.topk(scores, TOP)
                top5.append([ids[r] for r in rows.tolist()])
                for value, row in zip(values.tolist(), rows.tolist()):
                    if value >= threshold and value > best.get(ids[row], -1.0):
                        best[ids[row]] = value
        return len(best)

    return extract, top5


def _workvec_top5(extractor, ads: list[list[str]]) -> tuple[list[list[str]], dict[str, float]]:
    """Untimed pass, batched per ad like `extract`: where the time goes (encoding; candidates or the cosine
    bound; exact scores of the candidates), then each sentence's top-5 concepts without the threshold."""
    encode_s = candidates_s = score_s = 0.0
    top5: list[list[str]] = []
    concepts = extractor.labels.taxonomy.concepts
    for ad in ads:
        t0 = time.perf_counter()
        token_list = [t.vectors for t in extractor.encoder.encode_tokens(ad)]
        t1 = time.perf_counter()
        rows = extractor._candidate_rows(token_list)
        t2 = time.perf_counter()
        for tokens, cand in zip(token_list, rows):
            extractor._scores(tokens, cand)
        t3 = time.perf_counter()
        encode_s, candidates_s, score_s = encode_s + t1 - t0, candidates_s + t2 - t1, score_s + t3 - t2
        for tokens in token_list:
            rows_all, scores = extractor.score_sentence_tokens(tokens)
            best = rows_all[np.argsort(-scores, kind="stable")[:TOP]]
            top5.append([concepts[int(extractor.labels.owners[r])].id for r in best])
    return top5, {"encode_tokens": round(encode_s, 3), "candidates": round(candidates_s, 3),
                  "exact_scores": round(score_s, 3)}


def e2e(params: dict) -> dict:
    """Skill extraction over whole ads, timed; `top5` per sentence (in order) for the agreement check."""
    from workvec.runtime.sentences import split_sentences
    from workvec.runtime.skills import DEFAULT_THRESHOLD

    ads = [list(a) for a in params["ads"]]
    variant = params["variant"]
    if variant not in E2E_VARIANTS:
        raise ValueError(f"unknown e2e variant {variant!r}; use one of {E2E_VARIANTS}")
    started = time.perf_counter()
    if variant.startswith("workvec"):
        extract, extractor = workvec_extractor(variant)
    else:
        extract, top5 = reference_extractor(DEFAULT_THRESHOLD)
    load_s = time.perf_counter() - started
    extract(ads[0][:8])  # warm-up
    t0 = time.perf_counter()
    matches = sum(extract(ad) for ad in ads)
    seconds = time.perf_counter() - t0
    sentences = [s for ad in ads for s in ad]
    extra: dict = {}
    if variant.startswith("workvec"):
        top5, extra["breakdown_s"] = _workvec_top5(extractor, ads)
        extra["splitter_sentences"] = sum(len(split_sentences("\n".join(ad))) for ad in ads)
    else:
        top5 = top5[-len(sentences):]  # drop the warm-up's
    return {"variant": variant, "threshold": DEFAULT_THRESHOLD, "sentences": len(sentences), "ads": len(ads),
            "load_s": round(load_s, 3), "seconds": round(seconds, 3), "matches": matches,
            "sentences_per_s": round(len(sentences) / seconds, 2), "ads_per_s": round(len(ads) / seconds, 3),
            "top5": top5, **extra}


MODES: dict[str, Callable[[dict], dict]] = {"prepare": prepare, "titles": titles, "e2e": e2e}

if __name__ == "__main__":
    mode, params_file = sys.argv[1], Path(sys.argv[2])
    answer = MODES[mode](json.loads(params_file.read_text(encoding="utf-8")))
    print(json.dumps({**answer, "peak_rss_mib": peak_rss_mib()}))
