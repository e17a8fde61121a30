"""One line summarising a bundle's parity report (shared by `export`, `info` and `demo`)."""

from __future__ import annotations


def parity_line(report: dict) -> str:
    """`parity fp32 min cosine ... | int8 mean ... min ... top10 overlap ... | batch-invariant ...`."""
    fp32, int8 = report.get("fp32", {}), report.get("int8")
    line = f"parity fp32 min cosine {fp32.get('min_cosine', float('nan')):.7f}"
    if int8:
        line += (f" | int8 mean {int8['mean_cosine']:.4f} min {int8['min_cosine']:.4f}"
                 f" top10 overlap {int8['top10_overlap']:.3f}")
        inv = int8.get("batch_invariance")
        if inv is None:
            line += " | batch invariance not measured (re-export for batch-invariant int8)"
        else:
            worst = min(inv["min_cosine"], inv.get("token_min_cosine", 1.0))
            line += (f" | batch-invariant: {'bit-identical' if inv['bit_identical'] else 'min cosine'}"
                     + ("" if inv["bit_identical"] else f" {worst:.7f} ({inv['identical_share']:.0%} identical)")
                     + f", max abs diff {max(inv['max_abs_diff'], inv.get('token_max_abs_diff', 0.0)):.1e}")
    return line
