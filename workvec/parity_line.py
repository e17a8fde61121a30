"""One line summarising a bundle's parity report (shared by `export`, `info` and `demo`)."""

from __future__ import annotations


def parity_line(report: dict) -> str:
    """`parity fp32 min cosine ... | int8 mean ... min ... top10 overlap ...`."""
    fp32, int8 = report.get("fp32", {}), report.get("int8")
    line = f"parity fp32 min cosine {fp32.get('min_cosine', float('nan')):.7f}"
    if int8:
        line += (f" | int8 mean {int8['mean_cosine']:.4f} min {int8['min_cosine']:.4f}"
                 f" top10 overlap {int8['top10_overlap']:.3f}")
    return line
