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
            line += (f" | batch invariance: {'all' if inv['bit_identical'] else format(inv['identical_share'], '.0%')}"
                     f" bit-identical, min cosine {inv['min_cosine']:.7f}, max abs diff {inv['max_abs_diff']:.1e}")
            if "token_min_cosine" in inv:
                line += ("; token vectors " + ("bit-identical" if inv["token_max_abs_diff"] == 0 else
                         f"min cosine {inv['token_min_cosine']:.7f}, max abs diff {inv['token_max_abs_diff']:.1e}"))
    return line
