"""Aggregates over a finished run (pandas): skill demand, top skills, month-over-month movers, occupation mix.

Only analysed ads count (a text was read: statuses other than missing_text / not_string / empty_text /
bad_row). Ads without an occupation, or whose best candidate is below the no-match floor
(`occupation_no_match`), count as "(none)"; month-based tables leave out ads without a month. Skills whose evidence
in the ad is boilerplate only (ad_skills.parquet's `boilerplate`, workvec.analyze.boilerplate) are left out of
every table but `boilerplate_skills` unless `include_boilerplate`. Every share comes with the number of ads
it rests on (`cell_ads`, `occupation_ads`, `month_ads`); a month with fewer than MIN_MONTH_ADS ads has no
month-over-month change and is no point of a trend line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from workvec.analyze.rows import ANALYSED

__all__ = ["Aggregates", "aggregate", "write_aggregates"]

TOP_SKILLS = 20  # per occupation
MIN_MONTH_ADS = 20  # a month needs this many analysed ads to take part in month-over-month changes and trend lines
MIN_SKILL_ADS = 3  # a skill needs this many ads in one of the two months to be a mover
MOVERS = 10
NONE = "(none)"


@dataclass(frozen=True)
class Aggregates:
    """The aggregate tables of a run."""

    skill_demand: pd.DataFrame  # occupation x month x region (x groups) x skill: ads, share, mean_score
    top_skills: pd.DataFrame  # per occupation ("*" = all ads): rank, skill, ads, share, mean_score
    skill_trends: pd.DataFrame  # skill x month: ads, share of the month's ads, change vs the previous month
    skill_movers: pd.DataFrame  # rising / falling between the last two months with enough ads
    occupation_mix: pd.DataFrame  # month x occupation: ads, share of the month's ads
    boilerplate_skills: pd.DataFrame  # skills found in boilerplate only: ads, share of all ads
    boilerplate_included: bool = False

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"skill_demand": self.skill_demand, "top_skills": self.top_skills, "skill_trends": self.skill_trends,
                "skill_movers": self.skill_movers, "occupation_mix": self.occupation_mix,
                "boilerplate_skills": self.boilerplate_skills}


def aggregate(ads: pd.DataFrame, skills: pd.DataFrame, groups: Sequence[str] = (), *,
              include_boilerplate: bool = False) -> Aggregates:
    """All aggregate tables from ads.parquet and ad_skills.parquet as DataFrames."""
    ads = ads[ads["status"].isin(ANALYSED)].copy()
    marked = skills["boilerplate"].fillna(False).astype(bool) if "boilerplate" in skills else \
        pd.Series(False, index=skills.index)
    boilerplate = _boilerplate(ads, skills[marked])
    if not include_boilerplate:
        skills = skills[~marked]
    below = ads.get("occupation_no_match", pd.Series(False, index=ads.index)).fillna(False).astype(bool)
    ads.loc[below, ["occupation_id", "occupation_label"]] = None  # best candidate under the no-match floor
    ads["occupation_id"] = ads["occupation_id"].fillna(NONE)
    ads["occupation_label"] = ads["occupation_label"].fillna(NONE)
    joined = skills[["row", "skill_id", "skill_label", "score"]].merge(
        ads[["row", "occupation_id", "occupation_label", "month", "region", *groups]], on="row")
    return Aggregates(_demand(ads, joined, groups), _top(ads, joined), *_trends(ads, joined), _mix(ads),
                      boilerplate, include_boilerplate)


def _share(counts: pd.DataFrame, totals: pd.DataFrame, keys: list[str], base: str) -> pd.DataFrame:
    """`counts` with the ads of its cell (`totals`' total, as column `base`) and ads / that as `share`."""
    out = counts.merge(totals, on=keys, how="left") if keys else counts.assign(total=int(totals["total"].iloc[0]))
    out["share"] = out["ads"] / out["total"]
    return out.rename(columns={"total": base})


def _boilerplate(ads: pd.DataFrame, marked: pd.DataFrame) -> pd.DataFrame:
    """The skills found in boilerplate only: ads (of all analysed ads) and mean score, most ads first."""
    marked = marked[marked["row"].isin(ads["row"])]
    counts = marked.groupby(["skill_id", "skill_label"]).agg(ads=("row", "nunique"),
                                                             mean_score=("score", "mean")).reset_index()
    out = _share(counts, pd.DataFrame({"total": [len(ads)]}), [], "all_ads")
    return out.sort_values(["ads", "skill_id"], ascending=[False, True], kind="stable").reset_index(drop=True)


def _demand(ads: pd.DataFrame, joined: pd.DataFrame, groups: Sequence[str]) -> pd.DataFrame:
    cell = ["occupation_id", "occupation_label", "month", "region", *groups]
    totals = ads.groupby(cell, dropna=False).size().rename("total").reset_index()
    counts = joined.groupby(cell + ["skill_id", "skill_label"], dropna=False).agg(
        ads=("row", "nunique"), mean_score=("score", "mean")).reset_index()
    out = _share(counts, totals, cell, "cell_ads")
    return out.sort_values(cell + ["ads", "skill_id"], ascending=[True] * len(cell) + [False, True],
                           na_position="last", kind="stable").reset_index(drop=True)


def _top(ads: pd.DataFrame, joined: pd.DataFrame) -> pd.DataFrame:
    everyone = joined.assign(occupation_id="*", occupation_label="all ads")
    totals = pd.concat([ads, ads.assign(occupation_id="*", occupation_label="all ads")])
    totals = totals.groupby(["occupation_id", "occupation_label"]).size().rename("total").reset_index()
    both = pd.concat([everyone, joined])
    counts = both.groupby(["occupation_id", "occupation_label", "skill_id", "skill_label"]).agg(
        ads=("row", "nunique"), mean_score=("score", "mean")).reset_index()
    out = _share(counts, totals, ["occupation_id", "occupation_label"], "occupation_ads")
    out = out.sort_values(["occupation_id", "ads", "skill_id"], ascending=[True, False, True], kind="stable")
    out["rank"] = out.groupby("occupation_id").cumcount() + 1
    return out[out["rank"] <= TOP_SKILLS].reset_index(drop=True)


def _trends(ads: pd.DataFrame, joined: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    months = ads.dropna(subset=["month"]).groupby("month").size().rename("total").reset_index()
    counts = joined.dropna(subset=["month"]).groupby(["skill_id", "skill_label", "month"]).agg(
        ads=("row", "nunique"), mean_score=("score", "mean")).reset_index()
    trends = _change(_share(counts, months, ["month"], "month_ads"), months)
    usable = months[months["total"] >= MIN_MONTH_ADS]["month"].tolist()
    movers = pd.DataFrame(columns=["direction", "skill_id", "skill_label", "month_before", "month", "share_before",
                                   "share", "change", "ads_before", "ads", "month_ads_before", "month_ads"])
    if len(usable) >= 2:
        sizes = dict(zip(months["month"], months["total"]))
        before, last = usable[-2], usable[-1]
        wide = trends[trends["month"].isin([before, last])].pivot_table(
            index=["skill_id", "skill_label"], columns="month", values=["share", "ads"], fill_value=0)
        frame = pd.DataFrame({"month_before": before, "month": last,
                              "share_before": wide[("share", before)], "share": wide[("share", last)],
                              "ads_before": wide[("ads", before)].astype(int), "ads": wide[("ads", last)].astype(int),
                              "month_ads_before": int(sizes[before]), "month_ads": int(sizes[last])})
        frame = frame[(frame["ads_before"] >= MIN_SKILL_ADS) | (frame["ads"] >= MIN_SKILL_ADS)].reset_index()
        frame["change"] = frame["share"] - frame["share_before"]
        ordered = frame.sort_values(["change", "skill_id"], kind="stable")
        rising = ordered[ordered["change"] > 0].iloc[::-1].head(MOVERS).assign(direction="rising")
        falling = ordered[ordered["change"] < 0].head(MOVERS).assign(direction="falling")
        movers = pd.concat([rising, falling])[movers.columns].reset_index(drop=True)
    return trends, movers


def _change(trends: pd.DataFrame, months: pd.DataFrame) -> pd.DataFrame:
    """`change`: the skill's share minus its share in the corpus's previous month (0 when it had no ads then), for
    months that both have at least MIN_MONTH_ADS ads (else empty)."""
    ordered = months["month"].tolist()
    enough = set(months.loc[months["total"] >= MIN_MONTH_ADS, "month"])
    trends = trends.assign(previous=trends["month"].map(dict(zip(ordered[1:], ordered[:-1]))).astype(object))
    before = trends[["skill_id", "month", "share"]].rename(columns={"month": "previous", "share": "before"})
    before["previous"] = before["previous"].astype(object)
    trends = trends.merge(before, on=["skill_id", "previous"], how="left")
    usable = trends["month"].isin(enough) & trends["previous"].isin(enough)
    trends["change"] = (trends["share"] - trends["before"].fillna(0.0)).where(usable)
    return trends.drop(columns=["previous", "before"]).sort_values(["skill_id", "month"], kind="stable") \
        .reset_index(drop=True)


def _mix(ads: pd.DataFrame) -> pd.DataFrame:
    dated = ads.dropna(subset=["month"])
    months = dated.groupby("month").size().rename("total").reset_index()
    counts = dated.groupby(["month", "occupation_id", "occupation_label"]).size().rename("ads").reset_index()
    out = _share(counts, months, ["month"], "month_ads")
    return out.sort_values(["month", "ads", "occupation_id"], ascending=[True, False, True],
                           kind="stable").reset_index(drop=True)


def write_aggregates(aggs: Aggregates, folder: Path, extra: dict[str, pd.DataFrame] | None = None) -> list[Path]:
    """Each table (and each of `extra`, name -> table) as Parquet and CSV under `folder` (atomic per file)."""
    from workvec.runtime.atomic import atomic_path

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in {**aggs.tables(), **(extra or {})}.items():
        for suffix, write in ((".parquet", lambda f, p: f.to_parquet(p, index=False)),
                              (".csv", lambda f, p: f.to_csv(p, index=False))):
            path = folder / f"{name}{suffix}"
            with atomic_path(path) as tmp:
                write(frame, tmp)
            written.append(path)
    return written
