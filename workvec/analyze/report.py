"""report.md with matplotlib PNGs, a plain table beside each plot.

Nothing here misleads by omission: every plot shows the ads its numbers rest on (`n=`), every table has them as
a column, months with fewer than MIN_MONTH_ADS analysed ads are hollow points off the trend lines and hollow
bars in the occupation mix, and the report says which skills the boilerplate rule left out.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from workvec.analyze.aggregate import MIN_MONTH_ADS, NONE, Aggregates
from workvec.runtime.atomic import atomic_path, atomic_write_bytes

__all__ = ["trend_points", "write_report"]

TOP_OVERALL = 20
LARGEST_OCCUPATIONS = 3
PER_OCCUPATION = 10
TREND_LINES = 5
MIX_OCCUPATIONS = 8
BOILERPLATE_SHOWN = 10


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
    """Horizontal bars of `share` (%), each labelled with its ads (n=)."""
    frame = frame.iloc[::-1]
    bars = ax.barh([s[:45] for s in frame["skill_label"]], frame["share"] * 100, color="#3b75af")
    ax.bar_label(bars, labels=[f"n={n:,}" for n in frame["ads"]], padding=2, fontsize=7)
    ax.margins(x=0.15)
    ax.set_xlabel("% of ads (n= ads with the skill)")
    ax.set_title(title[:70], fontsize=10)


def trend_points(trends: pd.DataFrame, skill_id: str, month_ads: pd.Series) -> pd.DataFrame:
    """One skill's share per month of the corpus (0 where no ad asked for it) with `solid`: whether the month
    has at least MIN_MONTH_ADS ads (a point of the trend line; else a hollow point off it)."""
    line = trends[trends["skill_id"] == skill_id].set_index("month")["share"]
    frame = pd.DataFrame({"month": month_ads.index, "month_ads": month_ads.to_numpy()})
    frame["share"] = frame["month"].map(line).fillna(0.0)
    frame["solid"] = frame["month_ads"] >= MIN_MONTH_ADS
    return frame.reset_index(drop=True)


def _month_ads(aggs: Aggregates) -> pd.Series:
    """Analysed ads per month, in month order."""
    return aggs.occupation_mix.groupby("month")["month_ads"].first().sort_index()


def _overall(aggs: Aggregates, summary: dict, out: Path, plt) -> str:
    top = aggs.top_skills
    overall = top[top["occupation_id"] == "*"].head(TOP_OVERALL)
    left_out = "" if aggs.boilerplate_included else ", boilerplate left out"
    fig, ax = plt.subplots(figsize=(8, 6.5))
    _bars(ax, overall, f"Top skills, all ads (n={summary['analysed']:,} ads{left_out})")
    _save(fig, out / "top_skills.png")
    return (f"## Top skills\n\nShare of all {summary['analysed']:,} analysed ads{left_out}.\n\n"
            "![top skills](top_skills.png)\n\n"
            + _table(overall, {"rank": "rank", "skill_label": "skill", "ads": "ads", "occupation_ads": "of ads",
                               "share": "share", "mean_score": "mean score"}))


def _boilerplate(aggs: Aggregates, summary: dict, sentences: pd.DataFrame | None) -> str:
    info = summary["boilerplate"]
    employer = (f"column `{info['employer_col']}`, {info['employers']:,} employers" if info["employer_col"]
                else "no employer column")
    lines = [(f"## Boilerplate\n\nBoilerplate for this corpus: {info['rule']} (employer: {employer},"
              f" {info['ads_without_employer']:,} ads without one; occupation: the ad's top-1). "
              f"{info['boilerplate_passages']:,} of {info['passages']:,} distinct passages are. "
              f"{info['skill_rows']:,} of {summary['skills']:,} skill mentions have all their evidence in"
              " boilerplate (`boilerplate = true` in ad_skills.parquet)")]
    if aggs.boilerplate_included:
        lines.append("; they are counted in every table and plot of this report (`--include-boilerplate`).\n")
        return "".join(lines)
    lines.append(" and are left out of every other table and plot (`--include-boilerplate` counts them). The"
                 " skills they would have added most:\n\n")
    lines.append(_table(aggs.boilerplate_skills.head(BOILERPLATE_SHOWN),
                        {"skill_label": "skill", "ads": "ads", "all_ads": "of ads", "share": "share"}))
    if sentences is not None and not sentences.empty:
        shown = sentences.head(BOILERPLATE_SHOWN).assign(sentence=lambda f: f["sentence"].map(_clip))
        lines.append("\nThe sentences that gave most of them (aggregates/boilerplate_sentences lists more):\n\n"
                     + _table(shown, {"sentence": "sentence", "mentions": "mentions", "skills": "skills"}))
    return "".join(lines)


def _clip(text: str, width: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def _occupations(aggs: Aggregates, out: Path, plt) -> str:
    top = aggs.top_skills
    sizes = top.groupby(["occupation_id", "occupation_label"])["occupation_ads"].first()
    largest = [(oid, label) for (oid, label), _ in sizes.sort_values(ascending=False).items()
               if oid not in ("*", NONE)][:LARGEST_OCCUPATIONS]
    if not largest:
        return ""
    fig, axes = plt.subplots(1, len(largest), figsize=(6 * len(largest), 4.5), squeeze=False)
    parts = ["## Top skills of the largest occupations\n\n![occupations](top_skills_occupations.png)\n"]
    for ax, (oid, label) in zip(axes[0], largest):
        frame = top[top["occupation_id"] == oid].head(PER_OCCUPATION)
        n = int(sizes[(oid, label)])
        _bars(ax, frame, f"{label[:45]} (n={n:,} ads)")
        parts.append(f"\n### {label} (`{oid}`), {n:,} ads\n\n"
                     + _table(frame, {"rank": "rank", "skill_label": "skill", "ads": "ads", "share": "share"}))
    _save(fig, out / "top_skills_occupations.png")
    return "".join(parts)


def _trends(aggs: Aggregates, out: Path, plt) -> str:
    movers = aggs.skill_movers
    parts = ["## Rising and falling skills\n\n"]
    if movers.empty:
        return parts[0] + f"_(fewer than two months with at least {MIN_MONTH_ADS} ads)_\n"
    month_ads = _month_ads(aggs)
    fig, ax = plt.subplots(figsize=(9, 5.5))
    lines = []
    for direction, style in (("rising", "-"), ("falling", "--")):
        for _, mover in movers[movers["direction"] == direction].head(TREND_LINES).iterrows():
            points = trend_points(aggs.skill_trends, mover["skill_id"], month_ads)  # x: the month's position
            solid = points[points["solid"]]
            (line,) = ax.plot(solid.index, solid["share"] * 100, style, marker="o", label=mover["skill_label"][:40])
            lines.append((points[~points["solid"]], line.get_color()))
    top = ax.get_ylim()[1]  # the scale is the solid points'; a hollow point above it sits on the top edge as ^
    for hollow, color in lines:
        share = hollow["share"] * 100
        for marker, part in (("o", share <= top), ("^", share > top)):
            ax.plot(hollow.index[part], share[part].clip(upper=top), marker, markerfacecolor="none", color=color,
                    clip_on=False)
    ax.set_ylim(top=top)
    ax.set_xticks(range(len(month_ads)), [f"{m}\nn={n:,}" for m, n in month_ads.items()], fontsize=7, rotation=45)
    ax.set_ylabel("% of the month's ads")
    ax.set_title(f"Largest changes between the last two months with >= {MIN_MONTH_ADS} ads (n= analysed ads per"
                 f" month)\nhollow: months with fewer ads, off the lines (^: above the scale)", fontsize=9)
    ax.legend(fontsize=7)
    _save(fig, out / "skill_trends.png")
    return parts[0] + "![trends](skill_trends.png)\n\n" + _table(movers, {
        "direction": "direction", "skill_label": "skill", "month_before": "from", "month": "to",
        "ads_before": "ads before", "month_ads_before": "of ads", "share_before": "share before", "ads": "ads",
        "month_ads": "of ads", "share": "share", "change": "change"}, floats="{:.4f}")


def _mix(aggs: Aggregates, out: Path, plt) -> str:
    mix = aggs.occupation_mix
    head = "\n## Occupation mix by month\n\n"
    if mix.empty:
        return head + "_(no dated ads)_\n"
    sizes = mix.groupby(["occupation_id", "occupation_label"])["ads"].sum()
    keep = [oid for oid, _ in sizes.sort_values(ascending=False).index[:MIX_OCCUPATIONS]]
    shown = mix.assign(occupation=mix["occupation_label"].where(mix["occupation_id"].isin(keep), "other"))
    wide = shown.pivot_table(index="month", columns="occupation", values="share", aggfunc="sum", fill_value=0)
    month_ads = _month_ads(aggs).reindex(wide.index)
    small = [i for i, n in enumerate(month_ads) if n < MIN_MONTH_ADS]
    fig, ax = plt.subplots(figsize=(9, 5))
    (wide * 100).plot.bar(stacked=True, ax=ax, width=0.8)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))  # before the hollow bars: filled keys
    for bars in ax.containers:  # months with few ads: hollow bars
        for i in small:
            bars[i].set_edgecolor(bars[i].get_facecolor())
            bars[i].set_facecolor("none")
    ax.set_xticks(range(len(wide)), [f"{m}\nn={n:,}" for m, n in month_ads.items()], fontsize=7, rotation=45)
    ax.set_xlabel("")
    ax.set_ylabel("% of the month's ads")
    ax.set_title(f"Occupations per month (n= analysed ads; hollow: fewer than {MIN_MONTH_ADS} ads)", fontsize=9)
    _save(fig, out / "occupation_mix.png")
    table = wide.reset_index()
    table.insert(1, "ads", table["month"].map(month_ads))
    return head + "![occupation mix](occupation_mix.png)\n\n" + _table(table, {c: str(c)[:30] for c in table.columns})


def write_report(aggs: Aggregates, out: Path, summary: dict, sentences: pd.DataFrame | None = None) -> list[Path]:
    """Write report.md and its PNGs into `out` (`sentences`: aggregates/boilerplate_sentences); returns the files
    written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    head = (f"# Corpus analysis\n\n{summary['ads']:,} ads ({summary['analysed']:,} analysed), "
            f"{summary['skills']:,} skill mentions, {summary['sentences']:,} sentences "
            f"({summary['duplicate_rate']:.1%} duplicates, matched once). Statuses: "
            + ", ".join(f"{k} {v:,}" for k, v in summary["statuses"].items()) + ". Every share below says how"
            " many ads it rests on.\n")
    parts = [head, _overall(aggs, summary, out, plt), _boilerplate(aggs, summary, sentences), _occupations(aggs, out, plt),
             _trends(aggs, out, plt), _mix(aggs, out, plt)]
    plt.close("all")
    atomic_write_bytes(out / "report.md", "\n".join(p for p in parts if p).encode("utf-8"))
    names = ("top_skills.png", "top_skills_occupations.png", "skill_trends.png", "occupation_mix.png")
    return [out / "report.md", *(out / n for n in names if (out / n).is_file())]
