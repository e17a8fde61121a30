"""Index crossover of `speed.py`: exact vs HNSW latency and recall@10 by label count (1 query thread)."""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from _common import log, percentile
from speed_setup import INDEXES, Config, bundle, cached_vectors, skillspan_sentences

K = 10
BATCH = 64
EF_SWEEP = (10, 16, 32, 64, 128, 256, 512)
EF_SWEEP_QUICK = (16, 64, 256)
SYNTHETIC_LADDER = (100_000, 200_000, 300_000, 500_000, 750_000, 1_000_000)
PROBE_N = 20_000
DIM = 384
CROSSOVER_DIR = INDEXES / "speed-crossover"


@dataclass(frozen=True)
class EfPoint:
    """HNSW at one search ef: recall@10 against exact search and latencies."""

    ef: int
    recall_at_10: float
    single_p50_ms: float
    batch64_ms: float


@dataclass(frozen=True)
class IndexRow:
    """Exact vs HNSW on one vector set."""

    name: str
    count: int
    source: str
    queries: int
    build_s: float
    build_threads: int
    hnsw_bytes: int
    exact_single_p50_ms: float
    exact_single_p95_ms: float
    exact_batch64_ms: float
    hnsw_single_p50_ms: float
    hnsw_single_p95_ms: float
    hnsw_batch64_ms: float
    recall_at_10: float
    ef_sweep: tuple[EfPoint, ...]


def _single_ms(index, queries: np.ndarray, ef: int | None = None) -> list[float]:
    out = []
    for q in queries:
        t0 = time.perf_counter()
        index.query(q, K, ef=ef)
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def _batch_ms(index, queries: np.ndarray, ef: int | None = None) -> float:
    """Mean milliseconds per query() call of BATCH queries."""
    chunks = [queries[i:i + BATCH] for i in range(0, max(1, len(queries) - BATCH + 1), BATCH)] or [queries]
    t0 = time.perf_counter()
    for chunk in chunks:
        index.query(chunk, K, ef=ef)
    return (time.perf_counter() - t0) * 1e3 / len(chunks)


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(found.tolist(), truth.tolist())]))


def _digest(vectors: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(vectors).tobytes()).hexdigest()[:16]


def hnsw_index(name: str, vectors: np.ndarray, threads: int):
    """The HNSW index of `vectors` (default IndexSpec: M=32, ef_construction=200, ef=128), built once and cached,
    loaded back with one query thread; with the build seconds and threads of the first build."""
    from workvec.runtime.vector_index import IndexSpec, VectorIndex

    digest, record = _digest(vectors), CROSSOVER_DIR / f"{name}.bench.json"
    if record.is_file() and (CROSSOVER_DIR / f"{name}.json").is_file():
        built = json.loads(record.read_text(encoding="utf-8"))
        if built["digest"] == digest:
            from workvec.errors import LabelIndexError

            try:
                return VectorIndex.load(CROSSOVER_DIR, name, threads=1), built["build_s"], built["threads"]
            except LabelIndexError as exc:  # written by an older workvec: rebuild
                log(f"index: cached {name} is stale ({exc}); rebuilding")
    log(f"index: building HNSW over {len(vectors):,} vectors ({threads} threads) ...")
    t0 = time.perf_counter()
    index = VectorIndex.build(vectors, IndexSpec(mode="hnsw", threads=threads))
    build_s = round(time.perf_counter() - t0, 2)
    index.save(CROSSOVER_DIR, name)
    record.write_text(json.dumps({"digest": digest, "build_s": build_s, "threads": threads}) + "\n", encoding="utf-8")
    return VectorIndex.load(CROSSOVER_DIR, name, threads=1), build_s, threads


def measure(name: str, source: str, vectors: np.ndarray, queries: np.ndarray, cfg: Config) -> IndexRow:
    """Exact vs HNSW latency (single, batch 64) and recall@10, plus an ef sweep."""
    from workvec.runtime.vector_index import IndexSpec, VectorIndex

    exact = VectorIndex.build(vectors, IndexSpec(mode="exact"))
    hnsw, build_s, threads = hnsw_index(name, vectors, cfg.build_threads)
    truth, _ = exact.query(queries, K)
    singles = queries[:cfg.index_singles]
    exact_lat, hnsw_lat = _single_ms(exact, singles), _single_ms(hnsw, singles)
    sweep = []
    for ef in EF_SWEEP_QUICK if cfg.quick else EF_SWEEP:
        found, _ = hnsw.query(queries, K, ef=ef)
        p50 = percentile(_single_ms(hnsw, singles, ef), 50)
        batch = _batch_ms(hnsw, queries, ef)
        sweep.append(EfPoint(ef, round(_recall(found, truth), 4), round(p50, 4), round(batch, 3)))
    found, _ = hnsw.query(queries, K)
    return IndexRow(name, len(vectors), source, len(queries), build_s, threads,
                    (CROSSOVER_DIR / f"{name}.hnsw").stat().st_size,
                    round(percentile(exact_lat, 50), 4), round(percentile(exact_lat, 95), 4),
                    round(_batch_ms(exact, queries), 3), round(percentile(hnsw_lat, 50), 4),
                    round(percentile(hnsw_lat, 95), 4), round(_batch_ms(hnsw, queries), 3),
                    round(_recall(found, truth), 4), tuple(sweep))


# ------------------------------------------------------------------------------------------ vector sets
def clustered(n: int, seed: int, clusters: int, centre_seed: int = 11) -> np.ndarray:
    """`n` 384-d float32 vectors around `clusters` random unit centres (fixed by `centre_seed`; noise norm ~0.8)."""
    rng = np.random.default_rng(centre_seed)
    centres = rng.standard_normal((clusters, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), np.float32)
    for lo in range(0, n, 100_000):
        hi = min(n, lo + 100_000)
        noise = rng.standard_normal((hi - lo, DIM), dtype=np.float32) * np.float32(0.8 / math.sqrt(DIM))
        out[lo:hi] = centres[rng.integers(0, clusters, hi - lo)] + noise
    return out


def clusters_for(n: int) -> int:
    """About 2,000 vectors per cluster, at least 64 clusters."""
    return max(64, n // 2000)


def synthetic_size(cfg: Config) -> tuple[int, str]:
    """The synthetic set size: fixed in quick mode, else the largest ladder size predicted to build in budget."""
    if cfg.synthetic_n:
        return cfg.synthetic_n, "fixed (quick mode)" if cfg.quick else "fixed (--synthetic)"
    from workvec.runtime.vector_index import IndexSpec, VectorIndex

    cached = sorted((int(p.stem.split("-")[1]) for p in CROSSOVER_DIR.glob("synthetic-*.hnsw")), reverse=True)
    if cached and cached[0] in SYNTHETIC_LADDER:
        return cached[0], f"cached from an earlier run (chosen for a {cfg.synthetic_budget_s:.0f} s build budget)"
    t0 = time.perf_counter()
    VectorIndex.build(clustered(PROBE_N, 7, clusters_for(PROBE_N)), IndexSpec(mode="hnsw", threads=cfg.build_threads))
    probe = time.perf_counter() - t0
    predict = {n: probe * n / PROBE_N * math.log(n) / math.log(PROBE_N) * 1.15 for n in SYNTHETIC_LADDER}
    fits = [n for n, s in predict.items() if s <= cfg.synthetic_budget_s] or [SYNTHETIC_LADDER[0]]
    return fits[-1], (f"largest of {list(SYNTHETIC_LADDER)} predicted to build within {cfg.synthetic_budget_s:.0f} s "
                      f"on {cfg.build_threads} threads ({PROBE_N:,}-vector probe: {probe:.1f} s; predicted "
                      f"{predict[fits[-1]]:.0f} s)")


def label_vectors(cfg: Config) -> tuple[dict[str, tuple[np.ndarray, str]], np.ndarray]:
    """ESCO skill label vectors (preferred; preferred + alternative) and SkillSpan query vectors, int8 title bundle."""
    from workvec.runtime.encoder import Encoder
    from workvec.runtime.taxonomy import load_taxonomy

    encoder = Encoder.open(bundle("title"), precision="int8", providers="cpu", threads=cfg.build_threads)
    encode = lambda texts: encoder.encode(texts, batch_size=128)  # noqa: E731
    tax = load_taxonomy("esco-skills")
    sets = {}
    for key, alt, limit in (("esco-preferred", False, cfg.preferred_limit), ("esco-all", True, cfg.all_limit)):
        labels = tax.labels(include_alt=alt)[0][:limit]
        what = "preferred" if not alt else "preferred + alternative"
        cut = f" (first {limit:,})" if limit and limit < len(tax.labels(include_alt=alt)[0]) else ""
        sets[key] = (cached_vectors(f"title-int8-{key}", labels, encode),
                     f"ESCO skill {what} labels{cut}, MiniLM int8 sentence vectors")
    queries = cached_vectors("title-int8-skillspan-queries", skillspan_sentences(cfg.index_queries), encode)
    return sets, queries


def index(cfg: Config) -> dict:
    """Run the crossover on the two ESCO label sets and the synthetic set."""
    from threadpoolctl import threadpool_limits

    CROSSOVER_DIR.mkdir(parents=True, exist_ok=True)
    sets, queries = label_vectors(cfg)
    rows = []
    with threadpool_limits(1):
        for name, (vectors, source) in sets.items():
            log(f"index: {name} ({len(vectors):,} vectors) ...")
            rows.append(measure(name, source, vectors, queries, cfg))
        n, why = synthetic_size(cfg)
        log(f"index: synthetic {n:,} vectors ({why}) ...")
        source = f"synthetic clustered vectors, {DIM}-d, {clusters_for(n)} clusters; size: {why}"
        data, probes = clustered(n, 1, clusters_for(n)), clustered(cfg.index_queries, 2, clusters_for(n))
        rows.append(measure(f"synthetic-{n}", source, data, probes, cfg))
    return {"k": K, "batch": BATCH, "query_threads": 1, "spec": "IndexSpec(mode=..., M=32, ef_construction=200, "
            "ef=128); HNSW scores re-computed exactly", "rows": [asdict(r) for r in rows],
            "note": "exact = VectorIndex(mode='exact') (numpy matmul + argpartition, BLAS pinned to 1 thread); "
                    "single = one query() call per query; batch64 = ms per query() call of 64 queries"}
