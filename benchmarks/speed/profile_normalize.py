"""Where a batch-1 `TitleNormalizer.normalize` spends its time (issue 9: p50 <= 2 ms target, MiniLM, 1 thread).

Three views of the same calls, all on one thread, for each int8 title bundle given:
1. `normalize([title])` p50 / p95 as a user calls it, and the same calls with onnxruntime's profiler on;
2. the split of one call by stage (tokenize, pad, onnxruntime, search, concepts), timed stage by stage;
3. onnxruntime's profile of the batch-1 runs: kernel time per op type, nodes executed per run, and the run time
   not spent in kernels (the executor's per-node cost).

    python benchmarks/speed/profile_normalize.py [--bundle DIR ...] [--taxonomy onet] [--calls 300] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared _common helpers
import _speed_assets as assets  # noqa: E402
from _common import CACHE, RESULTS, log, machine_info, markdown_table, percentile, write_json, write_text  # noqa: E402
from _normalize_timing import latencies, split  # noqa: E402
from _ort_profile import kernel_profile, profile_encoder  # noqa: E402

OUT = RESULTS / "encode_minilm"
INDEXES = CACHE / "indexes" / "encode-speed"
QUANT_OPS = ("Abs", "ReduceMax", "Max", "Div", "QuantizeLinear")  # the per-row activation quantization's nodes


def _normalizer(bundle: Path, taxonomy: str, profile: str | None = None):
    """A 1-thread int8 TitleNormalizer; with `profile`, its session is recreated with onnxruntime profiling on."""
    from workvec.runtime.encoder import Encoder
    from workvec.runtime.labels import LabelIndex
    from workvec.runtime.taxonomy import load_taxonomy
    from workvec.runtime.titles import TitleNormalizer

    encoder = Encoder.open(bundle, precision="int8", providers="cpu", threads=1)
    if profile:
        profile_encoder(encoder, profile)
    labels = LabelIndex.open(encoder, load_taxonomy(taxonomy), index_dir=INDEXES, progress=False)
    return TitleNormalizer(encoder, labels)


def _stages(normalizer, titles: list[str]) -> dict[str, float]:
    from workvec.runtime.tokenizer import iter_batches, tokenize

    enc = normalizer.encoder
    pooled = []  # the earlier tokenize path (encode_batch of one text, through the tokenizers thread pool), timed

    def before(title: str) -> None:  # like the stage itself: right after a model run, so both meet the same cold caches
        feeds = next(iter_batches(tokenize(enc._tokenizer, [title]), 64, enc.manifest.pad_id)).feeds(enc._inputs)
        enc._session.run(["sentence_embedding"], feeds)
        started = time.perf_counter()
        enc._tokenizer.encode_batch([title], add_special_tokens=True)
        pooled.append((time.perf_counter() - started) * 1000)
        enc._session.run(["sentence_embedding"], feeds)

    return {**split(normalizer, titles, before), "tokenize_encode_batch": percentile(pooled, 50)}


def _profile(bundle: Path, taxonomy: str, titles: list[str]) -> dict[str, Any]:
    """onnxruntime's profile of batch-1 normalize calls: per op type kernel ms per run and nodes per run."""
    with tempfile.TemporaryDirectory(prefix="profile-normalize-") as tmp:
        normalizer = _normalizer(bundle, taxonomy, profile=str(Path(tmp) / "ort"))
        ms = latencies(normalizer, titles)
        found = kernel_profile(normalizer.encoder)
    kernel, nodes, n_runs = found["kernel_ms"], found["nodes"], len(found["runs_ms"])
    total = sum(kernel.values()) / n_runs
    ops = [{"op": op, "ms_per_run": ms / n_runs, "share": ms / n_runs / total,
            "nodes_per_run": nodes[op] / n_runs} for op, ms in kernel.most_common()]
    return {"normalize_p50_ms_profiled": percentile(ms, 50),
            "model_run_p50_ms_profiled": percentile(found["runs_ms"][10:], 50),  # after the 10 warm-up calls
            "kernel_ms_per_run": total, "nodes_per_run": sum(nodes.values()) / n_runs, "ops": ops}


def run(bundles: list[Path], taxonomy: str, calls: int) -> dict[str, Any]:
    titles = list(assets.job_titles(calls).texts)
    found: dict[str, Any] = {"taxonomy": taxonomy, "calls": calls, "titles": assets.job_titles(calls).source,
                             "bundles": {}}
    for bundle in bundles:
        log(f"{bundle.name}: normalize latency, stage split, onnxruntime profile ...")
        normalizer = _normalizer(bundle, taxonomy)
        ms = latencies(normalizer, titles)
        tokens = normalizer.encoder.count_tokens(titles)
        activations = normalizer.encoder.manifest.quantization.get("activations", "per-tensor")
        entry = {"quantization": activations.split(" (")[0].replace("|", "/"),
                 "labels": len(normalizer.labels.labels), "index": normalizer.labels.index.mode,
                 "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "stages_p50_ms": _stages(normalizer, titles),
                 "tokens_mean": float(np.mean(tokens)), "tokens_p50": percentile(tokens.tolist(), 50)}
        entry["profile"] = _profile(bundle, taxonomy, titles)
        found["bundles"][bundle.name] = entry
    return found


def markdown(found: dict[str, Any], machine: dict[str, Any]) -> str:
    parts = ["## Batch-1 `TitleNormalizer.normalize`: where the time goes (`profile_normalize.py`)", "",
             f"- CPU {machine['cpu']} ({', '.join(machine['flags'])}), load average at start {machine['load_average']}; "
             f"onnxruntime {machine['versions']['onnxruntime']}; 1 thread",
             f"- {found['calls']} calls of one title each: {found['titles']}; taxonomy {found['taxonomy']}", ""]
    stages = ["tokenize", "pad", "onnxruntime", "search", "concepts", "tokenize_encode_batch"]
    parts += [markdown_table(["bundle", "activations", "tokens mean", "normalize p50 ms", "p95 ms", *stages,
                              "nodes per run", "kernel ms per run", "run ms (profiled)"],
                             [[name, b["quantization"], f"{b['tokens_mean']:.1f}", f"{b['p50_ms']:.3f}", f"{b['p95_ms']:.3f}",
                               *(f"{b['stages_p50_ms'][s]:.3f}" for s in stages), f"{b['profile']['nodes_per_run']:.0f}",
                               f"{b['profile']['kernel_ms_per_run']:.3f}", f"{b['profile']['model_run_p50_ms_profiled']:.3f}"]
                              for name, b in found["bundles"].items()], "ll" + "r" * 13), "",
              "(`tokenize_encode_batch`: the same title through `encode_batch`, what the runtime "
              "does; `tokenize`: `encode` on the calling thread, tried as a cheaper path for one text.)", ""]
    for name, b in found["bundles"].items():
        quant = sum(o["ms_per_run"] for o in b["profile"]["ops"] if o["op"] in QUANT_OPS)
        parts += [f"### {name}: kernel time per op type (batch 1, profiled runs)", "",
                  markdown_table(["op", "ms per run", "share of kernel time", "nodes per run"],
                                 [[o["op"], f"{o['ms_per_run']:.3f}", f"{o['share']:.1%}", f"{o['nodes_per_run']:.0f}"]
                                  for o in b["profile"]["ops"][:16]], "lrrr"),
                  "", f"Per-row quantization ops ({', '.join(QUANT_OPS)}; Div and Max also appear elsewhere): "
                  f"{quant:.3f} ms per run.", ""]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", action="append", type=Path, help="int8 title bundle(s) (default: encode_speed's "
                    "MiniLM bundle and its per-tensor copy)")
    ap.add_argument("--taxonomy", default="onet")
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    bundles = a.bundle or [b for b in (CACHE / "bundles" / "minilm-title", CACHE / "bundles" / "minilm-title-per-tensor")
                           if b.is_dir()]
    machine = machine_info(("onnxruntime", "workvec"))
    found = run(bundles, a.taxonomy, a.calls)
    text = markdown(found, machine)
    write_json(a.out / "normalize_profile.json", {"machine": machine, **found})
    write_text(a.out / "normalize_profile.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
