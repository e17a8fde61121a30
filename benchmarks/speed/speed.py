"""Speed, memory and cold start of workvec against straightforward sentence-transformers implementations.

    python benchmarks/speed/speed.py [--quick] [--only e2e,titles,index,peak,memory] [--synthetic N] [--out DIR]

Sections (each timed variant runs at one thread; see benchmarks/results/speed.md for the numbers):
  e2e     skill extraction on SkillSpan job ads: workvec (int8 skill bundle + HNSW LabelIndex + SkillExtractor)
          vs workrb-style sentence-transformers token embeddings + torch ConTeXT-match against every label;
          sentences/s, ads/s, the ratio and the top-5 agreement per sentence
  titles  TitleNormalizer over O*NET (int8, fp32) vs sentence-transformers + numpy cosine: titles/s for batch
          1..128, batch-1 latency p50/p95
  index   exact vs HNSW latency (1 query, batch 64) and recall@10 at 14k, ~100k and a synthetic label count
  peak    this CPU's 1-thread int8 / fp32 matmul peak, the model's multiply-adds per token, achieved share of
          the peak for batched titles, and an onnxruntime op-type profile
  memory  peak RSS per variant (child processes), model / index file sizes, cold start to first answer
Outputs: speed.json, speed.md and PNG plots in --out (default benchmarks/results; with --quick, .bench-cache/
speed-quick so quick numbers never overwrite real ones). With --only, sections already in speed.json are kept.
Bundles are exported once into .bench-cache/bundles/minilm-{title,skill}; indexes and vectors are cached in
.bench-cache/{indexes,vectors}.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared _common helpers

from _common import CACHE, RESULTS, log, machine_info, write_json, write_text  # noqa: E402
import speed_index  # noqa: E402
import speed_memory  # noqa: E402
import speed_peak  # noqa: E402
import speed_report  # noqa: E402
import speed_sections  # noqa: E402
from speed_setup import PACKAGES, make_config  # noqa: E402

SECTIONS = {"e2e": speed_sections.e2e, "titles": speed_sections.titles, "index": speed_index.index,
            "peak": speed_peak.peak, "memory": speed_memory.memory}
NEEDS_TORCH = ("e2e", "titles", "memory")
SCHEMA = 2  # bump when a section's fields change: sections of an older speed.json are then dropped


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: finishes in under two minutes once "
                                                             "the bundles and caches exist")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    parser.add_argument("--synthetic", type=int, default=None, metavar="N",
                        help="synthetic index size (default: the largest of the ladder predicted to build in 120 s)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default benchmarks/results; "
                                                               "--quick: .bench-cache/speed-quick)")
    args = parser.parse_args(argv)
    asked = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = sorted(asked - set(SECTIONS))
    args.only = [s for s in SECTIONS if s in asked]  # canonical order: memory reuses e2e / titles children
    if unknown or not args.only:
        parser.error(f"--only takes a subset of {','.join(SECTIONS)} (got {unknown or 'nothing'})")
    if args.synthetic is not None and args.synthetic < 1000:
        parser.error(f"--synthetic takes a vector count >= 1000 (got {args.synthetic})")
    args.out = args.out or (CACHE / "speed-quick" if args.quick else RESULTS)
    return args


def load_previous(path: Path) -> dict:
    """Sections of an earlier speed.json to keep (an unreadable or older-schema file is ignored)."""
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return earlier.get("sections", {}) if earlier.get("schema") == SCHEMA else {}


def write_outputs(data: dict, out: Path) -> list[Path]:
    """speed.json, speed.md and the plots."""
    paths = [write_json(out / "speed.json", data), write_text(out / "speed.md", speed_report.markdown(data))]
    return paths + speed_report.plots(data, out)


def summary(sections: dict) -> list[str]:
    """One line per headline number."""
    lines = []
    if "e2e" in sections:
        e = sections["e2e"]
        rate = {v["variant"]: v for v in e["variants"]}
        wv, ref = rate["workvec"], rate["reference"]
        lines.append(f"e2e: workvec {wv['sentences_per_s']} sent/s ({wv['ads_per_s']} ads/s) vs reference "
                     f"{ref['sentences_per_s']} sent/s -> {e['speedup']}x ({e['speedups']}); "
                     f"top-5 overlap {e['top5_overlap']}")
    if "titles" in sections:
        t = sections["titles"]
        b = str(t["headline_batch"])
        lines.append("titles b=" + b + ": " + ", ".join(f"{v['variant']} {v['titles_per_s'][b]}/s p50 {v['p50_ms']} ms "
                                                        f"p95 {v['p95_ms']} ms" for v in t["variants"]))
    if "index" in sections:
        for r in sections["index"]["rows"]:
            lines.append(f"index {r['name']} ({r['count']:,}): exact {r['exact_single_p50_ms']} ms, HNSW "
                         f"{r['hnsw_single_p50_ms']} ms, recall@10 {r['recall_at_10']}, build {r['build_s']} s")
    if "peak" in sections:
        a = sections["peak"]["achieved"]
        lines.append(f"peak: int8 {a['int8_peak_gops']} GOPS; batched titles {a['gmac_per_s_executed']} GMAC/s = "
                     f"{a['pct_of_int8_peak_executed']}% of the int8 peak")
    if "memory" in sections:
        for c in sections["memory"]["cold_start"]:
            lines.append(f"cold start {c['variant']}: {c['median_s']} s, peak RSS {c['peak_rss_mib']} MiB")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = make_config(args.quick, args.out)
    if args.synthetic:
        cfg = replace(cfg, synthetic_n=args.synthetic)
    started = time.perf_counter()
    log(f"speed benchmark ({'quick' if cfg.quick else 'full'}): {', '.join(args.only)} -> {args.out}")
    speed_sections.prepare(cfg, with_torch=any(s in NEEDS_TORCH for s in args.only))
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}
    data = {"schema": SCHEMA, "machine": machine_info(PACKAGES), "settings": settings,
            "sections": load_previous(args.out / "speed.json")}
    for name in args.only:
        t0 = time.perf_counter()
        fresh = {k: v for k, v in data["sections"].items() if k in args.only[:args.only.index(name)]}
        result = speed_memory.memory(cfg, fresh) if name == "memory" else SECTIONS[name](cfg)
        result["run"] = {"quick": cfg.quick, "date": datetime.datetime.now().isoformat(timespec="seconds"),
                         "seconds": round(time.perf_counter() - t0, 1), "settings": settings}
        data["sections"][name] = result
        write_outputs(data, args.out)  # after every section, so an interrupted run keeps what it measured
        log(f"{name} done in {result['run']['seconds']} s")
    for path in write_outputs(data, args.out):
        log(f"wrote {path}")
    print("\n".join(summary({k: data["sections"][k] for k in args.only})))
    log(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
