"""Encoding speed: workvec int8/fp32 bundles vs the peers a user would pick instead, on the same model:
sentence-transformers (torch, its own ONNX int8 export, its OpenVINO backend fp32 and static int8) and fastembed
(the same ONNX export as a custom local model, fp32 and dynamic int8).

Measures titles/s (batch 64), sentences/s (batch 32), batch-1 title latency, peak RSS and load time for
MiniLM and a JobBERT-shaped MPNet (titles through the anchor route everywhere), fidelity against
sentence-transformers torch (cosine of the same texts' vectors, top-10 neighbour overlap), and for MiniLM the
batch-1 `TitleNormalizer.normalize` latency with its split. Every measurement runs in a fresh child process (so
peak RSS is that variant's alone); the peers run in venvs of their own (`_peer_envs.py`, built on first use);
variants are interleaved round-robin over repetitions and each figure is the median over repetitions.

    python benchmarks/speed/encode_speed.py [--models minilm,mpnet] [--threads 1,2] [--variants ...] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared _common helpers
import _encode_worker as worker  # noqa: E402
import _peer_envs as peers  # noqa: E402
import _speed_assets as assets  # noqa: E402
from _common import CACHE, RESULTS, log, machine_info, write_json, write_text  # noqa: E402
from _encode_report import markdown, notes, ratios, setup_lines, targets  # noqa: E402
from _encode_summary import Measure, summarise  # noqa: E402
from _peer_assets import prepare_peers  # noqa: E402
from _peer_envs import PEER_ENV  # noqa: E402

# workvec-int8: the shipped per-row (batch-invariant) int8; workvec-int8-per-tensor: the earlier per-tensor
# dynamic int8 (layer-0 FFN down fp32), rebuilt from the same fp32 graph (MiniLM only: MPNet's needs smoothing)
# st-*: sentence-transformers in the product venv; ov-* and fastembed-*: in their own venvs (PEER_ENV)
VARIANTS = ("workvec-int8", "workvec-int8-per-tensor", "workvec-fp32", "st-torch", "st-onnx-int8", "ov-fp32",
            "ov-int8-static", "fastembed-fp32", "fastembed-int8")
NORMALIZE_TAXONOMIES = ("onet", "esco-occupations")  # speed.py's O*NET (exact search) and the default (HNSW)
INDEXES = CACHE / "indexes" / "encode-speed"
PACKAGES = ("workvec", "onnxruntime", "torch", "sentence-transformers", "optimum", "optimum-onnx", "tokenizers")
QUICK_OUT = CACHE / "encode-speed-quick"  # quick runs never overwrite the published results


@dataclass(frozen=True)
class Config:
    """One benchmark run's settings."""

    models: tuple[str, ...]
    threads: tuple[int, ...]
    n_titles: int = 2048
    n_sentences: int = 512
    n_latency: int = 200
    reps: int = 3
    title_batch: int = 64
    sentence_batch: int = 32
    n_normalize: int = 300  # batch-1 normalize calls per taxonomy (MiniLM workvec variants)
    variants: tuple[str, ...] = VARIANTS
    ov_calibration_samples: int = 100
    quick: bool = False
    bar: tuple[str, ...] = ()  # parity bar overrides for the workvec export, as `workvec export --bar`


# ---------------------------------------------------------------- parent: build, interleave, summarise


def run_job(job: dict[str, Any], workdir: Path, index: int) -> Measure | None:
    """Run one job in a fresh interpreter; None (and the child's stderr tail) when it fails."""
    t = str(job["threads"])
    env = {**os.environ, "RAYON_NUM_THREADS": t, "OMP_NUM_THREADS": t, "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1"}
    python = peers.python_of(PEER_ENV[job["variant"]]) if job["variant"] in PEER_ENV else Path(sys.executable)
    child = worker.run(job, workdir / f"job{index}.json", timeout=3600, python=python, env=env)
    data = worker.result_of(child) if child.returncode == 0 else None
    if data is None:
        log(f"  FAILED {job['model']} {job['variant']} t={t} (exit {child.returncode}):\n{child.stderr[-2000:]}")
        return None
    data["peak_rss_mib"] = max(x for x in (data["peak_rss_mib"], child.peak_rss_mib, 0.0) if x is not None)
    return Measure(job["model"], job["variant"], job["threads"], **data)


def jobs_for(cfg: Config, model: assets.ModelAssets, workdir: Path, extra: dict[str, Any]) -> list[dict[str, Any]]:
    """One job per (variant, threads) of `model`; `extra`: the peers' assets (prepare_peers)."""
    from workvec.runtime.manifest import read_manifest

    manifest = read_manifest(model.bundle)
    base = {"model": model.name, "bundle": str(model.bundle), "st_dir": str(model.st_dir),
            "st_onnx_dir": str(model.st_onnx_dir), "st_onnx_file": model.st_onnx_file, "route": manifest.branch,
            "max_seq_length": manifest.max_seq_length, "texts": str(workdir / "texts.json"),
            "title_batch": cfg.title_batch, "sentence_batch": cfg.sentence_batch, "n_latency": cfg.n_latency,
            "index_dir": str(INDEXES), **extra}
    variants = [v for v in cfg.variants if not (v.startswith("workvec-int8") and model.int8_missing)
                and not (v == "workvec-int8-per-tensor" and model.name != "minilm")
                and not (v in PEER_ENV and v not in extra.get("peer_variants", ()))]
    bundles = {v: str(assets.per_tensor_bundle(model.bundle)) for v in variants if v == "workvec-int8-per-tensor"}
    normalize = list(NORMALIZE_TAXONOMIES) if model.name == "minilm" and cfg.n_normalize else []
    jobs = [{**base, "variant": v, "threads": t, "bundle": bundles.get(v, base["bundle"]),
             "normalize": normalize if v.startswith("workvec") else []}
            for t in cfg.threads for v in variants]
    for job in jobs:  # label indexes are built here, untimed, so the children only load them
        for taxonomy in job["normalize"]:
            _label_index(job["bundle"], job["variant"].split("-")[1], taxonomy)
    return jobs


def _label_index(bundle: str, precision: str, taxonomy: str) -> None:
    from workvec.runtime.encoder import Encoder
    from workvec.runtime.labels import LabelIndex
    from workvec.runtime.taxonomy import load_taxonomy

    encoder = Encoder.open(bundle, precision=precision, providers="cpu")
    LabelIndex.open(encoder, load_taxonomy(taxonomy), index_dir=INDEXES, progress=False)


def interleave(cfg: Config, jobs: list[dict[str, Any]], workdir: Path) -> list[Measure]:
    """Every job once per repetition, round-robin, the starting variant rotating between repetitions."""
    measures: list[Measure] = []
    for rep in range(cfg.reps):
        order = jobs[rep % len(jobs):] + jobs[: rep % len(jobs)]
        for i, job in enumerate(order):
            vectors = workdir / f"{job['model']}-{job['variant']}-{job['threads']}.npz" if rep == 0 else None
            log(f"rep {rep + 1}/{cfg.reps}: {job['model']} {job['variant']} threads={job['threads']}")
            found = run_job({**job, "vectors": str(vectors) if vectors else None}, workdir, rep * len(jobs) + i)
            if found:
                measures.append(found)
    return measures


# ---------------------------------------------------------------- CLI


def parse(argv: list[str] | None) -> tuple[Config, Path]:
    """Command line -> Config and output folder."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", help="comma-separated: minilm,mpnet (default both; --quick: minilm)")
    ap.add_argument("--threads", help="comma-separated thread counts (default 1,2; --quick: 1)")
    ap.add_argument("--quick", action="store_true", help="smoke test: few texts, one repetition (~2 minutes)")
    ap.add_argument("--out", type=Path, help=f"results folder (default {RESULTS}; --quick: {QUICK_OUT})")
    ap.add_argument("--reps", type=int, help="repetitions (default 3; --quick: 1)")
    ap.add_argument("--titles", type=int, help="titles per throughput run (default 2048; --quick: 256)")
    ap.add_argument("--sentences", type=int, help="sentences per throughput run (default 512; --quick: 64)")
    ap.add_argument("--latency", type=int, help="batch-1 calls for latency (default 200; --quick: 30)")
    ap.add_argument("--variants", help=f"comma-separated subset of {','.join(VARIANTS)} (default all)")
    ap.add_argument("--normalize", type=int, help="batch-1 normalize calls per taxonomy (default 300; 0: skip)")
    ap.add_argument("--bar", action="append", default=[], metavar="NAME=VALUE",
                    help="parity bar override for the workvec exports (as `workvec export --bar`); reported")
    a = ap.parse_args(argv)
    models = tuple((a.models or ("minilm" if a.quick else "minilm,mpnet")).split(","))
    if unknown := set(models) - {"minilm", "mpnet"}:
        ap.error(f"--models: unknown {sorted(unknown)}; use minilm and/or mpnet")
    threads = tuple(int(t) for t in (a.threads or ("1" if a.quick else "1,2")).split(","))
    variants = tuple(a.variants.split(",")) if a.variants else VARIANTS
    if unknown := set(variants) - set(VARIANTS):
        ap.error(f"--variants: unknown {sorted(unknown)}")
    if "st-torch" not in variants:
        ap.error("--variants must include st-torch (the reference of every ratio and fidelity figure)")
    cfg = Config(models, threads, quick=a.quick, bar=tuple(a.bar), variants=variants)
    if a.quick:
        cfg = replace(cfg, n_titles=256, n_sentences=64, n_latency=30, reps=1, n_normalize=30)
    overrides = {"reps": a.reps, "n_titles": a.titles, "n_sentences": a.sentences, "n_latency": a.latency,
                 "n_normalize": a.normalize}
    out = a.out or (QUICK_OUT if a.quick else RESULTS)
    return replace(cfg, **{k: v for k, v in overrides.items() if v is not None}), out


def main(argv: list[str] | None = None) -> int:
    """Build what is missing, measure every variant round-robin, print and write the results."""
    started = time.perf_counter()
    cfg, out = parse(argv)
    preset, info = assets.quant_preset(), machine_info(PACKAGES)
    texts = {"titles": assets.titles(cfg.n_titles), "sentences": assets.sentences(cfg.n_sentences)}
    latency_titles = assets.job_titles(cfg.n_normalize)
    prepared, skipped, extras, peer_missing = {}, {}, {}, {}
    for name in cfg.models:
        found, why = assets.prepare(name, preset, cfg.bar)
        if found is None:
            print(f"skipping {name}: {why}", flush=True)
            skipped[name] = why
        else:
            prepared[name] = found
            extras[name], why = prepare_peers(cfg, found)
            peer_missing.update({f"{name} {v}": w for v, w in why.items()})
    setup = {"machine": info, "config": asdict(cfg), "quant_preset": preset, "skipped": skipped,
             "texts": {k: {"n": len(t.texts), "source": t.source, "mean_tokens": {
                 n: assets.mean_tokens(a.bundle, t) for n, a in prepared.items()}} for k, t in texts.items()},
             "latency_titles": {"n": len(latency_titles.texts), "source": latency_titles.source},
             "peers": {"venvs": {env: {"pins": list(peers.PEERS[env]), "freeze": peers.freeze(env)}
                                 for env in dict.fromkeys(PEER_ENV[v] for x in extras.values()
                                                          for v in x.get("peer_variants", []))},
                       "missing": peer_missing, "ov_calibration": {
                           "folder": "SkillSpan train sentences minus the measured ones (_peer_assets.calibration_folder)",
                           "num_samples": cfg.ov_calibration_samples}},
             "models": {n: {"description": a.description, "st_dir": str(a.st_dir), "bundle": str(a.bundle),
                            **_bundle_facts(a.bundle), "int8_missing": a.int8_missing,
                            "st_onnx_file": a.st_onnx_file}
                        for n, a in prepared.items()}}
    print("\n".join(setup_lines(setup)), flush=True)
    with tempfile.TemporaryDirectory(prefix="encode-speed-") as tmp:
        workdir = Path(tmp)
        write_json(workdir / "texts.json", {**{k: list(t.texts) for k, t in texts.items()},
                                            "latency_titles": list(latency_titles.texts)})
        jobs = [job for n, a in prepared.items() for job in jobs_for(cfg, a, workdir, extras[n])]
        measures = interleave(cfg, jobs, workdir)
        rows = summarise(measures, workdir)
    ratio_rows = ratios(rows)
    missing = {n: a.int8_missing for n, a in prepared.items() if a.int8_missing}
    checks = targets(rows, ratio_rows, missing)
    said = notes(rows) + [f"{n} skipped: {why}" for n, why in skipped.items()]
    said += [f"{v}: not measured: {why}" for v, why in peer_missing.items()]
    said += [f"{n}: no workvec int8 variant, the export's int8 missed the parity gate: {m}" for n, m in missing.items()]
    said += [f"workvec bundles exported with parity bar overrides {list(cfg.bar)}"] if cfg.bar else []
    said += [f"{k}: {t.source}" for k, t in texts.items() if "probe" in t.source]
    text = markdown(setup, rows, ratio_rows, checks, said)
    write_json(out / "encode_speed.json", {**setup, "summary": rows, "ratios": ratio_rows, "targets": checks,
                                           "notes": said, "runs": [asdict(m) for m in measures],
                                           "wall_s": round(time.perf_counter() - started, 1)})
    write_text(out / "encode_speed.md", text)
    print("\n" + text)
    log(f"wrote {out / 'encode_speed.json'} and {out / 'encode_speed.md'} in {time.perf_counter() - started:.0f} s")
    return 0 if len(measures) == len(jobs) * cfg.reps else 1


def _bundle_facts(bundle: Path) -> dict[str, Any]:
    from workvec.runtime.manifest import read_manifest

    manifest = read_manifest(bundle)
    return {"workvec_int8": manifest.quantization, "route": manifest.branch, "max_seq_length": manifest.max_seq_length}


if __name__ == "__main__":
    sys.exit(main())
