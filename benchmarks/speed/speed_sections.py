"""Sections of `speed.py` that time whole variants in child processes: e2e skill extraction and titles."""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from _common import log, percentile, run_child
from speed_setup import (ADS_GROUPING, HERE, SKILLSPAN, Config, bundle, job_titles, padding, sample_ads,
                         single_thread_env, text_stats)

CHILD = HERE / "speed_child.py"
TARGET_SPEEDUP = 10.0


def child_rss(answer: dict, sampled: float | None) -> float:
    """The child's own VmHWM report, else the parent's sampled peak (MiB)."""
    value = answer.get("peak_rss_mib") or sampled
    return round(float(value), 1) if value is not None else float("nan")


def call_child(mode: str, params: dict, pinned: bool = True) -> tuple[dict, float]:
    """Run one `speed_child.py` workload (one thread unless `pinned` is False); its JSON answer and peak RSS MiB."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(params, fh)
    try:
        env = single_thread_env() if pinned else None
        child = run_child([sys.executable, str(CHILD), mode, fh.name], env=env)
    finally:
        Path(fh.name).unlink(missing_ok=True)
    if child.returncode != 0:
        raise RuntimeError(f"speed_child {mode} {params.get('variant', '')} failed ({child.returncode}):\n"
                           + child.stderr[-3000:])
    answer = json.loads(child.stdout.strip().splitlines()[-1])
    return answer, child_rss(answer, child.peak_rss_mib)


def prepare(cfg: Config, with_torch: bool = True) -> None:
    """Export bundles and build the indexes / label vectors the timed children load (all cores, untimed)."""
    bundle("title"), bundle("skill")
    answer, _ = call_child("prepare", {"torch": with_torch, "threads": cfg.build_threads}, pinned=False)
    if answer["seconds"] > 1:
        log(f"prepared caches in {answer['seconds']} s")


# ------------------------------------------------------------------------------------------ e2e
@dataclass(frozen=True)
class E2EVariant:
    """One skill-extraction variant over the same ads."""

    variant: str
    description: str
    sentences: int
    ads: int
    seconds: float
    sentences_per_s: float
    ads_per_s: float
    load_s: float
    skills_found: int
    peak_rss_mib: float
    details: dict


E2E_DESCRIPTIONS = {
    "workvec": "the product default: workvec int8 skill bundle (onnxruntime, 1 thread) + LabelIndex (default spec: "
               "exact at 13,939 labels) + SkillExtractor: best-token-cosine bound over all labels, exact ConTeXT-match "
               "on the labels that can reach the threshold",
    "workvec-hnsw": "the path above 20k labels: the same with an HNSW LabelIndex (M=32, ef=192): exact ConTeXT-match "
                    "on the HNSW neighbours of each token and of the mean token",
    "workvec-fp32": "diagnostic: workvec fp32 skill bundle, default spec (isolates int8 from the runtime)",
    "reference": "sentence-transformers encode(output_value='token_embeddings') + torch ConTeXT-match vs all labels",
}


def agreement(tops_a: list[list[str]], tops_b: list[list[str]]) -> tuple[float, float]:
    """Mean top-5 overlap and top-1 agreement of two per-sentence rankings."""
    overlap = [len(set(a) & set(b)) / max(1, len(b)) for a, b in zip(tops_a, tops_b)]
    top1 = [bool(a and b and a[0] == b[0]) for a, b in zip(tops_a, tops_b)]
    return round(float(np.mean(overlap)), 4), round(float(np.mean(top1)), 4)


def e2e(cfg: Config) -> dict:
    """End-to-end skill extraction on SkillSpan ads: workvec vs the workrb-style reference."""
    ads = sample_ads(cfg.e2e_sentences, cfg.e2e_max_ad)
    sentences = [s for ad in ads for s in ad.sentences]
    params = {"ads": [list(ad.sentences) for ad in ads]}
    variants, tops = [], {}
    names = ("workvec", "reference") if cfg.quick else tuple(E2E_DESCRIPTIONS)  # quick: the headline pair only
    for variant in names:
        log(f"e2e: {variant} on {len(ads)} ads / {len(sentences)} sentences ...")
        answer, rss = call_child("e2e", {**params, "variant": variant})
        tops[variant] = answer.pop("top5")
        details = {k: answer[k] for k in ("threshold", "breakdown_s", "splitter_sentences") if k in answer}
        variants.append(E2EVariant(variant, E2E_DESCRIPTIONS[variant], answer["sentences"], answer["ads"],
                                   answer["seconds"], answer["sentences_per_s"], answer["ads_per_s"],
                                   answer["load_s"], answer["matches"], rss, details))
    rate = {v.variant: v.sentences_per_s for v in variants}
    speedup = rate["workvec"] / rate["reference"]
    pairs = [(a, b) for a, b in (("workvec", "reference"), ("workvec-fp32", "reference"), ("workvec-hnsw", "workvec"))
             if a in tops and b in tops]
    overlap, top1 = agreement(tops["workvec"], tops["reference"])
    return {
        "corpus": f"SkillSpan {SKILLSPAN} (train+dev+test), whole postings in seeded random order"
                  + (f", each cut to its first {cfg.e2e_max_ad} sentences" if cfg.e2e_max_ad else ""),
        "grouping": ADS_GROUPING,
        "labels": "ESCO skills (embedded esco-skills), 13,939 preferred labels",
        "threads": 1,
        "encode_batch_size": 32,
        "ad_sentences": {"mean": round(float(np.mean([len(a.sentences) for a in ads])), 1),
                         "min": min(len(a.sentences) for a in ads), "max": max(len(a.sentences) for a in ads)},
        "text": text_stats(sentences),
        "variants": [asdict(v) for v in variants],
        "padding": padding(ads, 32),
        "speedup": round(speedup, 2),
        "speedups": {v: round(rate[v] / rate["reference"], 2) for v in rate if v != "reference"},
        "target_speedup": TARGET_SPEEDUP,
        "meets_target": speedup >= TARGET_SPEEDUP,
        "top5_overlap": overlap,
        "top1_agreement": top1,
        "agreement": [{"a": a, "b": b, **dict(zip(("top5_overlap", "top1"), agreement(tops[a], tops[b])))}
                      for a, b in pairs],
        "agreement_note": "per SkillSpan sentence: |top-5 of A ∩ top-5 of B| / 5 (no threshold), mean; top-1: "
                          "same best concept. workvec-fp32 vs reference isolates runtime differences, workvec vs "
                          "reference adds int8, workvec-hnsw vs workvec isolates HNSW misses",
    }


# ------------------------------------------------------------------------------------------ titles
@dataclass(frozen=True)
class TitleVariant:
    """One title-normalization variant: throughput per batch size and one-title latencies."""

    variant: str
    load_s: float
    titles_per_s: dict[str, float]
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    peak_rss_mib: float
    latency_ms: list[float]


def titles(cfg: Config) -> dict:
    """TitleNormalizer (int8, fp32) vs sentence-transformers + numpy cosine over the same O*NET labels."""
    from workvec.runtime.taxonomy import load_taxonomy

    pool = job_titles(cfg.sweep_titles + cfg.latency_titles)
    sweep, single = pool[:cfg.sweep_titles], pool[cfg.sweep_titles:]
    variants, top1 = [], {}
    for variant in ("workvec-int8", "workvec-fp32", "st-torch"):
        log(f"titles: {variant}, {len(sweep)} titles x batch {list(cfg.batches)} + {len(single)} single calls ...")
        params = {"variant": variant, "titles": sweep, "latency_titles": single, "batches": list(cfg.batches)}
        answer, rss = call_child("titles", params)
        lat = answer["latency_ms"]
        top1[variant] = answer["top1"]
        variants.append(TitleVariant(variant, answer["load_s"], answer["titles_per_s"], round(percentile(lat, 50), 3),
                                     round(percentile(lat, 95), 3), round(percentile(lat, 99), 3),
                                     round(float(np.mean(lat)), 3), rss, lat))
    base = variants[-1]
    b = "64" if "64" in base.titles_per_s else str(max(cfg.batches))
    return {
        "titles": f"JobBERT validation vacancy titles (distinct, seeded), {len(sweep)} per batch size",
        "latency_titles": len(single),
        "taxonomy": f"O*NET (embedded onet), {len(load_taxonomy('onet'))} titles; exact search (auto mode)",
        "threads": 1,
        "k": 5,
        "text": text_stats(sweep),
        "headline_batch": int(b),
        "variants": [asdict(v) for v in variants],
        "speedup_batch": {v.variant: round(v.titles_per_s[b] / base.titles_per_s[b], 2) for v in variants[:-1]},
        "speedup_p50": {v.variant: round(base.p50_ms / v.p50_ms, 2) for v in variants[:-1]},
        "top1_agreement_with_st": {v: round(float(np.mean([a == c for a, c in zip(top1[v], top1["st-torch"])])), 4)
                                   for v in top1 if v != "st-torch"},
    }
