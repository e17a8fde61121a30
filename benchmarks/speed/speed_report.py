"""Markdown tables and PNG plots of `speed.py`, drawn from the result JSON alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from _common import markdown_table

TITLE_BATCH_PLOT = "speed_titles_throughput.png"
LATENCY_PLOT = "speed_titles_latency.png"
RECALL_PLOT = "speed_hnsw_recall_latency.png"


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def machine_md(data: dict) -> str:
    m = data["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    return "\n".join([
        f"- CPU: {m['cpu']} ({m['arch']}), flags: {' '.join(m['flags']) or 'none of interest'}; "
        f"{m['physical_cores']} physical / {m['logical_cores']} logical / {m['usable_cores']} usable cores; "
        f"{m['memory_gib']} GiB; load average at start {m['load_average']}",
        f"- {m['os']}, Python {m['python']}; {versions}",
        "- every timed variant runs at 1 thread (onnxruntime intra-op, torch, BLAS, hnswlib queries); "
        "index builds and cache preparation use all cores",
    ])


def _text(t: dict) -> str:
    return (f"{t['count']} texts, {t['chars_mean']} chars and {t['tokens_mean']} tokens on average "
            f"(p50 {t['tokens_p50']:.0f}, p95 {t['tokens_p95']:.0f}, max {t['tokens_max']}; special tokens included)")


def e2e_md(r: dict) -> str:
    rows = [[v["variant"], v["sentences_per_s"], v["ads_per_s"], v["seconds"], v["load_s"], v["skills_found"],
             v["peak_rss_mib"]] for v in r["variants"]]
    agree = [[f"{x['a']} vs {x['b']}", x["top5_overlap"], x["top1"]] for x in r["agreement"]]
    wv, pad = r["variants"][0], r["padding"]
    lines = [
        markdown_table(["variant", "sentences/s", "ads/s", "seconds", "load s", "skills found", "peak RSS MiB"], rows),
        "",
        f"**Speed-up {r['speedup']}x** (target >= {r['target_speedup']:.0f}x: "
        f"{'met' if r['meets_target'] else 'NOT met'}"
        + "".join(f"; {k} {v}x" for k, v in r["speedups"].items() if k != "workvec") + "). Equal results: top-5 "
        f"overlap {r['top5_overlap']:.3f}, top-1 agreement {r['top1_agreement']:.3f}.", "",
        markdown_table(["pair", "top-5 overlap", "top-1 agreement"], agree), "",
        f"- agreement: {r['agreement_note']}",
        *[f"- {v['variant']}: {v['description']}" for v in r["variants"]],
        f"- corpus: {r['corpus']}; {r['ad_sentences']['mean']} sentences per ad on average "
        f"(min {r['ad_sentences']['min']}, max {r['ad_sentences']['max']}); {_text(r['text'])}",
        f"- grouping: {r['grouping']}",
        f"- labels: {r['labels']}; threshold {wv['details'].get('threshold')}, top-5 per sentence, best per ad; "
        f"encode batch {r['encode_batch_size']}, {r['threads']} thread",
        f"- padding: sentence-transformers' length-sorted batches of {pad['batch']} per ad run "
        f"{pad['padded_tokens']:,} tokens for {pad['real_tokens']:,} real ones ({pad['ratio']}x)"
        + (f"; workvec's batch planner runs {pad['workvec_padded_tokens']:,} ({pad['workvec_ratio']}x)"
           if "workvec_padded_tokens" in pad else ""),
    ]
    for v in r["variants"]:
        if "breakdown_s" in v["details"]:
            b = v["details"]["breakdown_s"]
            lines.append(f"- {v['variant']} time split (separate untimed pass over the SkillSpan lines, batched per "
                         f"ad): token encoding {b['encode_tokens']} s, candidates {b['candidates']} s, exact scores "
                         f"{b['exact_scores']} s; its splitter saw {v['details']['splitter_sentences']} "
                         f"sentences in the {v['sentences']} SkillSpan lines")
    return "\n".join(lines)


def titles_md(r: dict) -> str:
    batches = list(r["variants"][0]["titles_per_s"])
    rows = [[v["variant"], *[v["titles_per_s"][b] for b in batches], v["p50_ms"], v["p95_ms"], v["p99_ms"],
             v["load_s"], v["peak_rss_mib"]] for v in r["variants"]]
    headers = ["variant", *[f"b={b} titles/s" for b in batches], "b=1 p50 ms", "p95 ms", "p99 ms", "load s", "RSS MiB"]
    speed = ", ".join(f"{k} {v}x" for k, v in r["speedup_batch"].items())
    lat = ", ".join(f"{k} {v}x" for k, v in r["speedup_p50"].items())
    agree = ", ".join(f"{k} {v:.3f}" for k, v in r["top1_agreement_with_st"].items())
    return "\n".join([
        markdown_table(headers, rows), "",
        f"Speed-up over st-torch at batch {r['headline_batch']}: {speed}; batch-1 p50: {lat}. "
        f"Top-1 agreement with st-torch: {agree}.", "",
        f"- titles: {r['titles']}; {_text(r['text'])}; {r['latency_titles']} single-title calls for latency",
        f"- labels: {r['taxonomy']}; k={r['k']}; {r['threads']} thread; st-torch = SentenceTransformer.encode "
        f"(normalized) + numpy cosine against every label",
    ])


def index_md(r: dict) -> str:
    rows = [[x["name"], f"{x['count']:,}", x["build_s"], _mb(x["hnsw_bytes"]), x["exact_single_p50_ms"],
             x["hnsw_single_p50_ms"], x["exact_batch64_ms"], x["hnsw_batch64_ms"], x["recall_at_10"]]
            for x in r["rows"]]
    sweep = [[x["name"], p["ef"], p["recall_at_10"], p["single_p50_ms"], p["batch64_ms"]]
             for x in r["rows"] for p in x["ef_sweep"]]
    return "\n".join([
        markdown_table(["set", "vectors", "HNSW build s", "HNSW file", "exact 1q p50 ms", "HNSW 1q p50 ms",
                        "exact b64 ms", "HNSW b64 ms", "recall@10"], rows), "",
        *[f"- {x['name']}: {x['source']}; {x['queries']} queries; built on {x['build_threads']} threads"
          for x in r["rows"]],
        f"- {r['spec']}; {r['note']}", "",
        "HNSW ef sweep:", "",
        markdown_table(["set", "ef", "recall@10", "1q p50 ms", "b64 ms"], sweep),
    ])


def peak_md(r: dict) -> str:
    a, p = r["achieved"], r["profile"]
    peaks = [[k, "x".join(map(str, v["shape"])), v["best_ms"], v["median_ms"], v["gops_best"], v["gops_median"]]
             for k, v in r["peaks"].items()]
    ops = [[o["op"], o["pct"], o["ms"]] for o in p["ops"][:12]]
    return "\n".join([
        markdown_table(["kernel (1 thread)", "M x K x N", "best ms", "median ms", "GOPS best", "GOPS median"], peaks),
        "", r["note"], "",
        f"- model: {a['weight_macs_per_token']:,} weight multiply-adds per token ({a['weight_macs_int8']:,} in int8, "
        f"{a['weight_macs_fp32']:,} left in fp32) + attention {a['layers']} layers x 2 x L x {a['hidden']} "
        f"(mean {a['attention_macs_per_token_mean']:,.0f} per token at these lengths)",
        f"- workvec int8 titles, batch {a['batch']}, 1 thread: {a['titles_per_s']} titles/s, "
        f"{a['tokens_per_s_real']:,} real tokens/s ({a['tokens_per_s_padded']:,} padded), "
        f"{a['gmac_per_s_executed']} GMAC/s executed = **{a['pct_of_int8_peak_executed']}% of the int8 peak** "
        f"({a['int8_peak_gops']} GOPS; {a['pct_of_int8_peak_useful']}% counting real tokens only); "
        f"{a['pct_of_mixed_bound']}% of the mixed int8/fp32 bound",
        f"- {a['peak_note']}", "",
        f"onnxruntime profile, {p['titles']} titles at batch {p['batch']} (kernel time {p['kernel_ms']} ms of "
        f"{p['model_run_ms']} ms in model_run):", "",
        markdown_table(["op type", "% kernel time", "ms"], ops),
    ])


def memory_md(r: dict) -> str:
    rss = [[x["variant"], x["workload"], x["peak_rss_mib"]] for x in r["rss"]]
    files = [[group, name, _mb(size)] for group, entries in r["files_bytes"].items() for name, size in entries.items()]
    cold = [[c["variant"], c["median_s"], c.get("first_run_s", "-"), c["start_to_imported_s"], c["start_to_loaded_s"],
             ", ".join(map(str, c["runs_s"])), c["peak_rss_mib"],
             "-" if c["meets_target"] is None else ("yes" if c["meets_target"] else "NO")] for c in r["cold_start"]]
    return "\n".join([
        markdown_table(["variant", "workload", "peak RSS MiB"], rss), "",
        markdown_table(["what", "file", "size"], files), "",
        f"Cold start (target <= {r['target_cold_s']} s for workvec): {r['cold_note']}.", "",
        markdown_table(["variant", "median s", "first run s", "imported s", "loaded s", "runs s", "peak RSS MiB",
                        f"<= {r['target_cold_s']} s"], cold),
    ])


SECTIONS = {"e2e": ("End-to-end skill extraction", e2e_md), "titles": ("Title normalization", titles_md),
            "index": ("Index crossover: exact vs HNSW", index_md), "peak": ("The physical limit", peak_md),
            "memory": ("Memory and cold start", memory_md)}


def markdown(data: dict) -> str:
    """The whole report."""
    parts = ["# workvec speed benchmark", "", "Generated by `python benchmarks/speed/speed.py`; numbers from "
             "`speed.json` next to this file.", "", machine_md(data)]
    for key, (title, render) in SECTIONS.items():
        if key in data["sections"]:
            section = data["sections"][key]
            mode = "quick" if section["run"]["quick"] else "full"
            parts += ["", f"## {title}", "", f"_{mode} run, {section['run']['date']}, {section['run']['seconds']} s_",
                      "", render(section)]
    return "\n".join(parts)


def plots(data: dict, out: Path) -> list[Path]:
    """Draw the plots the available sections allow; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    sections = data["sections"]
    if "titles" in sections:
        variants = sections["titles"]["variants"]
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for v in variants:
            batches = [int(b) for b in v["titles_per_s"]]
            ax.plot(batches, list(v["titles_per_s"].values()), marker="o", label=v["variant"])
        ax.set(xscale="log", yscale="log", xlabel="batch size", ylabel="titles/s (1 thread)",
               title="Title normalization throughput vs batch size")
        _plain(ax)
        ax.set_xticks(batches, [str(b) for b in batches])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        written.append(_save(fig, out / TITLE_BATCH_PLOT))
        fig, (hist, cdf) = plt.subplots(1, 2, figsize=(10, 4))
        top = max(np.percentile(v["latency_ms"], 99.5) for v in variants)
        bins = np.linspace(0, top, 60)
        for v in variants:
            lat = np.sort(v["latency_ms"])
            hist.hist(lat, bins=bins, alpha=0.5, label=v["variant"])
            cdf.plot(lat, np.arange(1, len(lat) + 1) / len(lat), label=v["variant"])
        hist.set(xlabel="ms per title (batch 1)", ylabel="count", title="Batch-1 title latency")
        cdf.set(xscale="log", xlabel="ms per title (batch 1)", ylabel="fraction of calls", title="CDF")
        _plain(cdf, "x")
        for axis in (hist, cdf):
            axis.grid(True, alpha=0.3)
            axis.legend()
        written.append(_save(fig, out / LATENCY_PLOT))
    if "index" in sections:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for row in sections["index"]["rows"]:
            pts = row["ef_sweep"]
            line, = ax.plot([p["single_p50_ms"] for p in pts], [p["recall_at_10"] for p in pts], marker="o",
                            label=f"{row['name']} ({row['count']:,})")
            for p in pts:
                ax.annotate(str(p["ef"]), (p["single_p50_ms"], p["recall_at_10"]), fontsize=7,
                            textcoords="offset points", xytext=(3, -8))
            ax.plot([row["exact_single_p50_ms"]], [1.0], marker="*", markersize=11, color=line.get_color())
        ax.set(xscale="log", xlabel="single-query p50 ms (1 thread)", ylabel="recall@10 vs exact",
               title="HNSW recall vs latency (numbers: ef; stars: exact search)")
        _plain(ax, "x")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        written.append(_save(fig, out / RECALL_PLOT))
    return written


def _plain(axis, which: str = "xy") -> None:
    """Log axes ticked and labelled 0.5, 1, 2, 5 ... instead of 5x10^-1 (minor ticks unlabelled)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    for name in which:
        ax = axis.xaxis if name == "x" else axis.yaxis
        ax.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_minor_formatter(NullFormatter())


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
