"""report.md with matplotlib PNGs, a plain table beside each plot."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from workvec.analyze.aggregate import Aggregates
from workvec.runtime.atomic import atomic_path, atomic_write_bytes

__all__ = ["write_report"]

TOP_OVERALL = 15
LARGEST_OCCUPATIONS = 3
PER_OCCUPATION = 10
TREND_LINES = 5
MIX_OCCUPATIONS = 8


def _table(frame: pd.DataFrame, columns: dict[str, str], floats: str = "{:.3f}") -> str:
    """A markdown table of `frame`'s `columns` (name -> header)."""
    if frame.empty:
        return "_(no data)_\n"
    lines = ["| " + " | ".join(columns.values()) + " |", "|" + "---|" * len(columns)]
    for _, row in frame.iterrows():
        cells = [floats.format(row[c]) if isinstance(row[c], float) else str(row[c]) for c in columns]
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)


def _bars(ax, frame: pd.DataFrame, title: str) -> None:
    frame = frame.iloc[::-1]
    ax.barh([s[:45] for s in frame["skill_label"]], frame["share"] * 100, color="#3b75af")
    ax.set_xlabel("% of ads")
    ax.set_title(title[:60], fontsize=10)


def write_report(aggs: Aggregates, out: Path, summary: dict) -> list[Path]:
    """Write report.md and its PNGs into `out`; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = aggs.top_skills
    overall = top[top["occupation_id"] == "*"].head(TOP_OVERALL)
    sizes = aggs.occupation_mix.groupby(["occupation_id", "occupation_label"])["ads"].sum()
    largest = [(oid, label) for (oid, label), _ in sizes.sort_values(ascending=False).items()
               if oid != "(none)"][:LARGEST_OCCUPATIONS]
    parts = [f"# Corpus analysis\n\n{summary['ads']:,} ads ({summary['analysed']:,} analysed), "
             f"{summary['skills']:,} skill mentions, {summary['sentences']:,} sentences "
             f"({summary['duplicate_rate']:.1%} duplicates, matched once). Statuses: "
             + ", ".join(f"{k} {v:,}" for k, v in summary["statuses"].items()) + ".\n"]
    files = []

    fig, ax = plt.subplots(figsize=(8, 5))
    _bars(ax, overall, "Top skills, all ads")
    _save(fig, out / "top_skills.png")
    files.append(out / "top_skills.png")
    parts.append("## Top skills\n\n![top skills](top_skills.png)\n\n"
                 + _table(overall, {"rank": "rank", "skill_label": "skill", "ads": "ads", "share": "share",
                                    "mean_score": "mean score"}))

    if largest:
        fig, axes = plt.subplots(1, len(largest), figsize=(6 * len(largest), 4.5), squeeze=False)
        parts.append("## Top skills of the largest occupations\n\n![occupations](top_skills_occupations.png)\n")
        for ax, (oid, label) in zip(axes[0], largest):
            frame = top[top["occupation_id"] == oid].head(PER_OCCUPATION)
            _bars(ax, frame, f"{label} ({int(sizes[(oid, label)])} ads)")
            parts.append(f"\n### {label} (`{oid}`)\n\n" + _table(frame, {"rank": "rank", "skill_label": "skill",
                                                                         "ads": "ads", "share": "share"}))
        _save(fig, out / "top_skills_occupations.png")
        files.append(out / "top_skills_occupations.png")

    movers = aggs.skill_movers
    parts.append("## Rising and falling skills\n\n")
    if movers.empty:
        parts.append("_(fewer than two months with enough ads)_\n")
    else:
        fig, ax = plt.subplots(figsize=(8, 5))
        trends = aggs.skill_trends
        for direction, style in (("rising", "-"), ("falling", "--")):
            for _, mover in movers[movers["direction"] == direction].head(TREND_LINES).iterrows():
                line = trends[trends["skill_id"] == mover["skill_id"]]
                ax.plot(line["month"], line["share"] * 100, style, marker="o", label=mover["skill_label"][:40])
        ax.set_ylabel("% of the month's ads")
        ax.legend(fontsize=7)
        ax.tick_params(axis="x", labelrotation=45)
        _save(fig, out / "skill_trends.png")
        files.append(out / "skill_trends.png")
        parts.append("![trends](skill_trends.png)\n\n" + _table(movers, {
            "direction": "direction", "skill_label": "skill", "month_before": "from", "month": "to",
            "share_before": "share before", "share": "share", "change": "change"}, floats="{:.4f}"))

    mix = aggs.occupation_mix
    parts.append("\n## Occupation mix by month\n\n")
    if mix.empty:
        parts.append("_(no dated ads)_\n")
    else:
        keep = [oid for oid, _ in sizes.sort_values(ascending=False).index[:MIX_OCCUPATIONS]]
        shown = mix.assign(occupation=mix["occupation_label"].where(mix["occupation_id"].isin(keep), "other"))
        wide = shown.pivot_table(index="month", columns="occupation", values="share", aggfunc="sum", fill_value=0)
        fig, ax = plt.subplots(figsize=(9, 5))
        (wide * 100).plot.bar(stacked=True, ax=ax, width=0.8)
        ax.set_ylabel("% of the month's ads")
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
        _save(fig, out / "occupation_mix.png")
        files.append(out / "occupation_mix.png")
        table = wide.reset_index()
        parts.append("![occupation mix](occupation_mix.png)\n\n"
                     + _table(table, {c: str(c)[:30] for c in table.columns}))
    plt.close("all")
    atomic_write_bytes(out / "report.md", "\n".join(parts).encode("utf-8"))
    return [out / "report.md", *files]
