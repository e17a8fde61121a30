"""Corpus boilerplate (workvec.analyze.boilerplate, .passages) and plots that do not mislead
(workvec.analyze.report): the rule on made-up ads, then end to end on a made-up corpus where one sentence is in
every employer's ads (the committed tiny bundles, no torch)."""

from __future__ import annotations

import pytest

pytest.importorskip("pandas", reason="the analyze extra is not installed (pip install 'workvec[analyze]')")
pytest.importorskip("pyarrow", reason="the analyze extra is not installed (pip install 'workvec[analyze]')")

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from analyze_support import analyze_bundles, base_args, rows, taxonomies

from workvec.analyze.aggregate import MIN_MONTH_ADS, aggregate
from workvec.analyze.boilerplate import BoilerplateRule, find_boilerplate
from workvec.analyze.passages import Passages
from workvec.analyze.report import trend_points, write_report
from workvec.analyze.rows import Ad
from workvec.analyze.shards import MENTIONS
from workvec.cli import main
from workvec.errors import InputError
from workvec.runtime.skill_job import text_spans

SHARED = "All of our staff follow the health and safety regulations of every site."  # every employer's ads
ONE_JOB = "Drive the delivery lorry between our two depots every single morning."  # 12 ads, one employer, one job
AGENCY = "Our agency has used accounting software to serve this region since 1901."  # 12 ads, one employer, 3 jobs
THREE_EMPLOYERS = "Prepare the monthly financial statements for the board of directors."  # B, C and unknown
RARE = "Install electrical wiring in new homes across the northern part of the county."  # 9 ads, 9 jobs
SHORT = "Python and SQL."  # in every ad, but shorter than a passage
DESIGNED = (SHARED, ONE_JOB, AGENCY, THREE_EMPLOYERS, RARE, SHORT)
TITLES = ("Electrician", "Registered Nurse", "Accountant")


def _corpus_rows(*, glued: bool = False) -> list[dict]:
    """40 ads: employer A has ads 0-11 (one job, ONE_JOB) and 24-39 (three jobs, AGENCY in 24-35); ads 12-23 are
    B's, C's or nobody's (THREE_EMPLOYERS). SHORT stands between numbers that differ from ad to ad."""
    out = []
    for row in range(40):
        parts = [f"Ad {row} asks for task number {row * 7} at site {row * 13}.", SHORT,
                 f"Reference {row * 17} applies.", SHARED]
        if row < 12:
            parts.append(ONE_JOB)
        elif row < 24:
            parts.append(THREE_EMPLOYERS)
        if 24 <= row < 36:
            parts.append(AGENCY)
        if row in (0, 12, 13, 24, 25, 26, 27, 28, 29):
            parts.append(RARE)
        text = " ".join(parts)
        if glued:  # no space after a full stop, as in USAJOBS: the splitter keeps the two sentences as one
            text = text.replace(f"applies. {SHARED}", f"applies.{SHARED}")
        employer = "A" if row < 12 or row >= 24 else "B" if row % 2 else "C" if row < 18 else None
        out.append({"id": f"ad{row}", "title": TITLES[row % 3] if row >= 24 else TITLES[0], "text": text,
                    "date": f"2024-0{1 + row % 3}-10", **({"company": employer} if employer else {})})
    return out


def _mention(text: str, sentence: str, words: str) -> dict:
    """A mention of a skill in `sentence` of `text`, its evidence the words `words` there."""
    start = text.index(sentence)
    at = start + sentence.index(words)
    return {"sentence_start": start, "sentence_end": start + len(sentence),
            "evidence": [{"start": at, "end": at + len(words)}]}


def test_passages_and_the_words_they_cover():
    passages = Passages(3)
    text = "One two three, four. FIVE six"
    ad = passages.of(text, np.array([[0, 20], [21, 29]]))
    assert ad.starts.tolist() == [0, 4, 8, 15, 21, 26] and len(ad.hashes) == 4  # across the sentence boundary
    again = passages.of("x one TWO three", np.array([[0, 15]]))
    assert again.hashes[1] == ad.hashes[0]  # case-folded words, punctuation ignored
    assert ad.words_in(5, 10).tolist() == [1, 2]
    assert ad.covered(np.sort(ad.hashes[2:3])).tolist() == [False, False, True, True, True, False]  # 3 4 5
    assert ad.covered(np.zeros(0, np.uint64)).tolist() == [False] * 6
    assert not passages.of("one two", np.array([[0, 7]])).covered(np.sort(ad.hashes)).any()  # no passage


def test_the_rule_counts_ads_and_distinct_employer_occupation_pairs():
    corpus = _corpus_rows(glued=True)
    ads = [Ad(row=r, id=a["id"], title=a["title"], text=a["text"], date=None, month=None, region=None,
              employer=a.get("company"), groups={}, text_chars=len(a["text"])) for r, a in enumerate(corpus)]
    occupations = {r: a["title"] for r, a in enumerate(corpus)}
    texts = [a["text"] for a in corpus]
    glued = texts[0][texts[0].index("Reference"):texts[0].index(SHARED) + len(SHARED)]  # "...applies.All of ..."
    mentions = [[_mention(texts[0], glued, "safety regulations")],  # the shared part of a glued sentence
                [_mention(texts[0], glued, "Reference")],  # ... and its own words
                [_mention(texts[0], SHORT, "Python")],
                [_mention(texts[1], ONE_JOB, "delivery lorry")],  # one employer, one job
                [_mention(texts[24], AGENCY, "agency")],  # one employer, 3 jobs
                [_mention(texts[12], THREE_EMPLOYERS, "financial statements")],  # B, C and the unknown employer
                [_mention(texts[25], RARE, "electrical wiring")],
                [_mention(texts[26], SHARED, "staff"), _mention(texts[26], RARE, "wiring")]]
    labels = ["equality", "reference", "Python", "driving", "history", "finance", "wiring", "wiring"]
    skills = pa.table({"row": [0, 0, 0, 1, 24, 12, 25, 26], "skill_label": labels,
                       "sentence_start": [m[0]["sentence_start"] for m in mentions],
                       "sentence_end": [m[0]["sentence_end"] for m in mentions], "mentions": mentions},
                      schema=pa.schema([("row", pa.int64()), ("skill_label", pa.string()),
                                        ("sentence_start", pa.int64()), ("sentence_end", pa.int64()),
                                        ("mentions", MENTIONS)]))

    def verdict(rule):
        return find_boilerplate(lambda: [(0, ads)], lambda shard: skills, occupations, rule)

    assert verdict(BoilerplateRule(10, 3)).flags.tolist() == [True, False, False, False, True, True, False, False]
    assert verdict(BoilerplateRule(9, 3)).flags.tolist()[-2:] == [True, True]  # RARE: 9 ads, 6 pairs
    assert verdict(BoilerplateRule(10, 4)).flags.tolist() == [True] + [False] * 7
    found = verdict(BoilerplateRule(10, 3))
    assert sorted((r["sentence"], r["mentions"], r["skills"]) for r in found.sentences.to_pylist()) == [
        (AGENCY, 1, "history"), (THREE_EMPLOYERS, 1, "finance"), (glued, 1, "equality")]
    assert found.summary()["sources"] == 6  # A with 3 jobs; B, C and the unknown employer with 1
    with pytest.raises(InputError, match="--boilerplate-sources must be at least 1"):
        BoilerplateRule(min_ads=3, min_sources=0)


def test_aggregates_leave_boilerplate_out_unless_included():
    ads = pd.DataFrame({"row": range(4), "occupation_id": "o", "occupation_label": "dev", "month": "2024-01",
                        "region": "X", "status": "ok"})
    skills = pd.DataFrame({"row": [0, 1, 2, 3, 0], "skill_id": ["eo", "eo", "eo", "eo", "py"],
                           "skill_label": ["equality", "equality", "equality", "equality", "Python"],
                           "score": 0.7, "boilerplate": [True, True, True, False, False]})
    top = aggregate(ads, skills).top_skills.set_index(["occupation_id", "skill_id"])
    assert top.loc[("*", "eo"), "ads"] == 1 and top.loc[("*", "eo"), "occupation_ads"] == 4
    left_out = aggregate(ads, skills).boilerplate_skills
    assert left_out[["skill_id", "ads", "all_ads"]].values.tolist() == [["eo", 3, 4]]
    top = aggregate(ads, skills, include_boilerplate=True).top_skills.set_index(["occupation_id", "skill_id"])
    assert top.loc[("*", "eo"), "ads"] == 4


def _monthly():
    """Ads in three months: 2024-01 below MIN_MONTH_ADS, 02 and 03 above; skill a in some of each."""
    sizes = {"2024-01": 3, "2024-02": MIN_MONTH_ADS + 5, "2024-03": MIN_MONTH_ADS + 10}
    months = [m for m, n in sizes.items() for _ in range(n)]
    ads = pd.DataFrame({"row": range(len(months)), "occupation_id": "o", "occupation_label": "dev", "month": months,
                        "region": "X", "status": "ok"})
    with_a = [r for r, m in enumerate(months) if m == "2024-01" or r % 3 == 0]
    with_b = [r for r, m in enumerate(months) if m == "2024-03"]
    skills = pd.DataFrame({"row": with_a + with_b, "skill_id": ["a"] * len(with_a) + ["b"] * len(with_b),
                           "skill_label": ["A"] * len(with_a) + ["B"] * len(with_b), "score": 0.7,
                           "boilerplate": False})
    return ads, skills, sizes


def test_small_months_have_no_change_and_are_hollow_points():
    ads, skills, sizes = _monthly()
    aggs = aggregate(ads, skills)
    trends = aggs.skill_trends.set_index(["skill_id", "month"])
    assert trends.loc[("a", "2024-01"), "month_ads"] == 3 and pd.isna(trends.loc[("a", "2024-02"), "change"])
    assert trends.loc[("a", "2024-03"), "change"] == pytest.approx(trends.loc[("a", "2024-03"), "share"]
                                                                   - trends.loc[("a", "2024-02"), "share"])
    assert trends.loc[("b", "2024-03"), "change"] == pytest.approx(1.0)  # from 0 ads in 2024-02
    points = trend_points(aggs.skill_trends, "b", pd.Series(sizes))
    assert points[["month", "share", "solid"]].values.tolist() == [
        ["2024-01", 0.0, False], ["2024-02", 0.0, True], ["2024-03", 1.0, True]]


def test_every_plot_shows_its_counts_and_small_months_are_hollow(tmp_path, monkeypatch):
    from workvec.analyze import report

    figures = {}
    real_save = report._save
    monkeypatch.setattr(report, "_save", lambda fig, path: (figures.setdefault(path.name, fig), real_save(fig, path)))
    ads, skills, _ = _monthly()
    summary = {"ads": len(ads), "analysed": len(ads), "skills": len(skills), "sentences": 100,
               "duplicate_rate": 0.5, "statuses": {"ok": len(ads)},
               "boilerplate": {"rule": BoilerplateRule().describe(), "employer_col": "company", "employers": 4,
                               "ads_without_employer": 0, "passages": 9, "boilerplate_passages": 0, "skill_rows": 0}}
    written = write_report(aggregate(ads, skills), tmp_path, summary)
    assert {p.name for p in written} == {"report.md", "top_skills.png", "top_skills_occupations.png",
                                         "skill_trends.png", "occupation_mix.png"}
    for name, fig in figures.items():
        texts = [t.get_text() for ax in fig.axes for t in [ax.title, *ax.texts, *ax.get_xticklabels()]]
        assert any("n=" in t for t in texts), name
    trend_ax = figures["skill_trends.png"].axes[0]
    for line in trend_ax.lines:
        if line.get_linestyle() in ("-", "--"):  # the trend lines: months with enough ads only
            assert list(line.get_xdata()) == [1, 2]
        elif len(line.get_xdata()):  # months with few ads: hollow points (^ on the top edge when above the scale)
            assert list(line.get_xdata()) == [0] and line.get_markerfacecolor() == "none"
    mix_ax = figures["occupation_mix.png"].axes[0]
    assert all(bars[0].get_facecolor()[3] == 0 and bars[1].get_facecolor()[3] > 0 for bars in mix_ax.containers)
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| rank | skill | ads | of ads | share | mean score |" in text and "| month | ads |" in text


@pytest.fixture(scope="module")
def models(request):
    return analyze_bundles(request), taxonomies()


def _analyze(models, corpus, out, *extra) -> int:
    return main(["analyze", str(corpus), "--out", str(out), *base_args(*models, "--shard-rows", "7", *extra)])


def _write(path: Path, corpus: list[dict]) -> Path:
    path.write_text("".join(json.dumps(ad) + "\n" for ad in corpus), encoding="utf-8")
    return path


def _by_hand(corpus: list[dict], ads: list[dict], skills: list[dict], size: int = 8) -> list[bool]:
    """The rule applied by brute force (>= 10 ads, >= 3 (employer, occupation) pairs): each skill row's verdict."""
    words = []
    for ad in corpus:
        spans = text_spans(ad["text"])[0]
        words.append([(s.start + m.start(), s.start + m.end(), m.group().lower())
                      for s in spans for m in re.finditer(r"\w+", s.text)])
    holders: dict[tuple, set] = {}
    for row, (ad, info) in enumerate(zip(corpus, ads)):
        for j in range(len(words[row]) - size + 1):
            key = tuple(w for _, _, w in words[row][j:j + size])
            holders.setdefault(key, set()).add((row, ad.get("company") or "", info["occupation_id"]))
    boilerplate = {k for k, v in holders.items() if len(v) >= 10 and len({(e, o) for _, e, o in v}) >= 3}
    verdicts = []
    for skill in skills:
        ad_words = words[skill["row"]]
        covered = set()
        for j in range(len(ad_words) - size + 1):
            if tuple(w for _, _, w in ad_words[j:j + size]) in boilerplate:
                covered.update(range(j, j + size))
        evidence = [i for m in skill["mentions"] for e in m["evidence"] for i, (a, b, _) in enumerate(ad_words)
                    if a < e["end"] and b > e["start"]]
        verdicts.append(bool(evidence) and set(evidence) <= covered)
    return verdicts


def _check_rows(corpus: list[dict], out: Path) -> list[dict]:
    """Each skill row's mentions are sentences of its ad with the evidence inside them, its best sentence among
    them, and its verdict the one the rule gives by brute force."""
    ads, skills = rows(out)
    for row in skills:
        text = corpus[row["row"]]["text"]
        said = [text[m["sentence_start"]:m["sentence_end"]] for m in row["mentions"]]
        assert all(m["sentence_start"] <= e["start"] < e["end"] <= m["sentence_end"]
                   for m in row["mentions"] for e in m["evidence"])
        assert text[row["sentence_start"]:row["sentence_end"]] in said
    assert [r["boilerplate"] for r in skills] == _by_hand(corpus, ads, skills)
    return skills


def test_a_sentence_in_every_employers_ads_is_boilerplate(models, tmp_path, capsys):
    corpus = _corpus_rows()
    path = _write(tmp_path / "ads.jsonl", corpus)
    out = tmp_path / "run"
    assert _analyze(models, path, out) == 0
    skills = _check_rows(corpus, out)
    only_in = {s: [r["boilerplate"] for r in skills if all(
        corpus[r["row"]]["text"][m["sentence_start"]:m["sentence_end"]] == s for m in r["mentions"])] for s in DESIGNED}
    assert only_in[SHARED] and all(only_in[SHARED])  # the tiny model finds skills in these sentences
    assert only_in[THREE_EMPLOYERS] and all(only_in[THREE_EMPLOYERS])
    assert only_in[ONE_JOB] and not any(only_in[ONE_JOB]) and only_in[SHORT] and not any(only_in[SHORT])
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert info["columns"]["employer"] == "company" and info["settings"]["boilerplate"] == {
        "min_ads": 10, "min_sources": 3, "passage_words": 8, "include": False}
    assert info["counts"]["boilerplate"]["employers"] == 3 and info["counts"]["boilerplate"]["ads_without_employer"] == 3
    assert info["counts"]["boilerplate"]["skill_rows"] == sum(r["boilerplate"] for r in skills)
    kept = pd.DataFrame([r for r in skills if not r["boilerplate"]])
    top = pq.read_table(out / "aggregates" / "top_skills.parquet").to_pandas()
    overall = top[top["occupation_id"] == "*"].set_index("skill_id")["ads"]
    assert overall.to_dict() == kept.groupby("skill_id")["row"].nunique().loc[overall.index].to_dict()
    origins = pq.read_table(out / "aggregates" / "boilerplate_sentences.parquet").to_pylist()
    assert origins[0]["sentence"] == SHARED
    assert "## Boilerplate" in (out / "report.md").read_text(encoding="utf-8")

    capsys.readouterr()  # another rule into the same run directory: refused
    assert _analyze(models, path, out, "--boilerplate-ads", "5") == 2
    assert "settings.boilerplate:" in capsys.readouterr().err
    included = tmp_path / "included"
    assert _analyze(models, path, included, "--include-boilerplate") == 0
    assert rows(included)[1] == skills  # the same rows and verdicts; only the aggregates count them
    top = pq.read_table(included / "aggregates" / "top_skills.parquet").to_pandas()
    every = pd.DataFrame(skills).groupby("skill_id")["row"].nunique()
    assert all(every[s] == n for s, n in top[top["occupation_id"] == "*"].set_index("skill_id")["ads"].items())


def test_without_an_employer_column_the_occupations_decide(models, tmp_path):
    corpus = [{k: v for k, v in ad.items() if k != "company"} for ad in _corpus_rows()]
    out = tmp_path / "run"
    assert _analyze(models, _write(tmp_path / "ads.jsonl", corpus), out) == 0
    _check_rows(corpus, out)
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert info["columns"]["employer"] is None and info["counts"]["boilerplate"]["ads_without_employer"] == 40
