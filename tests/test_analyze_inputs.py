"""`workvec analyze` without models: input formats, column mapping, row statuses, shards, aggregates."""

from __future__ import annotations

import pytest

pytest.importorskip("pandas", reason="the analyze extra is not installed (pip install 'workvec[analyze]')")
pytest.importorskip("pyarrow", reason="the analyze extra is not installed (pip install 'workvec[analyze]')")

import gzip
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from analyze_support import BAD_LINES, SAMPLE, write_bad_corpus

from workvec.analyze.aggregate import aggregate
from workvec.analyze.inputs import count_rows, find_inputs, iter_records, resolve_columns
from workvec.analyze.rows import MAX_TEXT_BYTES, prepare
from workvec.analyze.shards import SKILLS_SCHEMA, ShardStore, ads_schema
from workvec.errors import InputError


def _records(path, **cols):
    files = find_inputs([path])
    columns = resolve_columns(files, **cols)
    return columns, [r for batch in iter_records(files, columns, batch_rows=7) for r in batch]


def test_formats_read_the_same_rows(tmp_path):
    """JSONL, JSONL.gz, CSV (other column names, mapped) and Parquet give the same values."""
    ads = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(SAMPLE.read_bytes()))
    renamed = pd.DataFrame(ads).rename(columns={"title": "Job Title", "text": "Body", "id": "ref"})
    renamed.to_csv(tmp_path / "b.csv", index=False)
    pd.DataFrame(ads).to_parquet(tmp_path / "c.parquet", index=False)
    expected = [(a["id"], a["title"], a["text"]) for a in ads]
    for path, cols in ((SAMPLE, {}), (tmp_path / "a.jsonl.gz", {}), (tmp_path / "c.parquet", {}),
                       (tmp_path / "b.csv", {"id": "ref", "title": "Job Title", "text": "Body"})):
        columns, records = _records(path, **cols)
        got = [(r.values[columns.id], r.values[columns.title], r.values[columns.text]) for r in records]
        assert got == expected, path.name
        assert [r.line for r in records] == list(range(1, len(ads) + 1))
        assert count_rows([path]) == len(ads)
    assert resolve_columns([SAMPLE]).region == "location"  # a common name, found without a flag


def test_column_errors_name_the_columns_found(tmp_path):
    with pytest.raises(InputError, match=r"--text-col body: ads-sample.jsonl has no column 'body'; its columns are"
                                         r" 'id', 'title', 'text'"):
        resolve_columns([SAMPLE], text="body")
    with pytest.raises(InputError, match="--group-col sector"):
        resolve_columns([SAMPLE], groups=["sector"])
    pd.DataFrame({"ref": ["1"], "headline": ["x"], "Body": ["y"]}).to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(InputError, match=r"no title column: looked for title, .*columns 'ref', 'headline', 'Body';"
                                         r" name it with --title-col COLUMN"):
        resolve_columns([tmp_path / "x.csv"])
    with pytest.raises(InputError, match="does not exist"):
        find_inputs([tmp_path / "missing.jsonl"])
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="unknown input format"):
        find_inputs([tmp_path / "notes.txt"])


def test_bad_rows_get_a_status_and_a_reason(tmp_path):
    columns, records = _records(write_bad_corpus(tmp_path / "bad.jsonl"))
    ads = [prepare(r, i, columns) for i, r in enumerate(records)]
    got = {ad.id: (ad.status, ad.error) for ad in ads}
    assert got["ok"] == ("ok", None)
    assert got["empty"][0] == "empty_text"
    assert got["missing"][0] == got["null"][0] == "missing_text"
    assert got["number"] == ("not_string", "text column 'text' holds a int, not a string")
    assert got["huge"][0] == "truncated" and "analysed its first 1,000,000" in got["huge"][1]
    huge = next(ad for ad in ads if ad.id == "huge")  # kept whole: the skill job cuts it, as every door does
    assert huge.text == "é" * (MAX_TEXT_BYTES // 2 + 10)
    assert got["baddate"][0] == "bad_date" and "'03/02/2024'" in got["baddate"][1]
    assert got["notitle"][0] == "missing_title"
    assert next(ad for ad in ads if ad.id == "notitle").month == "2024-02"
    assert got["bad.jsonl:4"][0] == "bad_row"
    assert got["bad.jsonl:4"][1].startswith("line 4 is not JSON (Expecting property name")
    assert got["bad.jsonl:5"][0] == "bad_row" and got["bad.jsonl:5"][1].startswith("line 5 is a JSON list, not an")
    last = ads[-1]
    assert (last.id, last.status, last.month) == ("bad.jsonl:11", "missing_id", "2024-02")
    assert len(ads) == len(BAD_LINES) + 2


def test_manifest_lists_only_complete_shards(tmp_path):
    store = ShardStore(tmp_path / "shards")
    ads = pa.Table.from_pylist([], schema=ads_schema(()))
    skills = pa.Table.from_pylist([], schema=SKILLS_SCHEMA)
    store.write(0, ads, skills, {"sentences": 0, "matched": 0})
    store.write_files(1, ads, skills, {})  # files written, killed before the manifest line
    with open(store.manifest, "a", encoding="utf-8") as fh:
        fh.write('{"shard": 2, "ad')  # a torn last line
    assert sorted(store.finished()) == [0]
    store.combine([0], tmp_path / "ads.parquet", 0, ads_schema(()))
    assert pq.read_table(tmp_path / "ads.parquet").num_rows == 0
    assert not list(tmp_path.glob(".*tmp*"))


def test_aggregates_shares_and_movers():
    months = ["2024-01"] * 20 + ["2024-02"] * 20
    ads = pd.DataFrame({"row": range(40), "occupation_id": ["o1"] * 30 + [None] * 10,
                        "occupation_label": ["dev"] * 30 + [None] * 10, "month": months, "region": "X",
                        "occupation_no_match": [False] * 28 + [True] * 2 + [None] * 10, "status": "ok"})
    # skill a: 10 ads in Jan, 2 in Feb (falling); skill b: 0 in Jan, 15 in Feb (rising)
    skill_rows = [(r, "a", 0.7) for r in range(10)] + [(r, "a", 0.7) for r in range(20, 22)] \
        + [(r, "b", 0.8) for r in range(20, 35)]
    skills = pd.DataFrame(skill_rows, columns=["row", "skill_id", "score"]).assign(
        skill_label=lambda f: f["skill_id"].str.upper())
    aggs = aggregate(ads, skills)
    top = aggs.top_skills.set_index(["occupation_id", "skill_id"])
    assert top.loc[("*", "b"), "ads"] == 15 and top.loc[("*", "b"), "share"] == pytest.approx(15 / 40)
    assert top.loc[("o1", "a"), "share"] == pytest.approx(12 / 28)  # rows 28-29: below the no-match floor
    movers = aggs.skill_movers.set_index("skill_id")
    assert movers.loc["b", "direction"] == "rising" and movers.loc["b", "change"] == pytest.approx(0.75)
    assert movers.loc["a", "direction"] == "falling" and movers.loc["a", "change"] == pytest.approx(-0.4)
    mix = aggs.occupation_mix.set_index(["month", "occupation_id"])
    assert mix.loc[("2024-02", "(none)"), "share"] == pytest.approx(12 / 20)
    demand = aggs.skill_demand.set_index(["occupation_id", "month", "skill_id"])
    assert demand.loc[("o1", "2024-01", "a"), "share"] == pytest.approx(10 / 20)


@pytest.mark.parametrize(("extra", "message"), [
    (["--address", "10.0.0.1:6379"], "--address joins a Ray cluster: add --engine ray"),
    (["--limit", "0"], "--limit must be a positive number of ads (got 0)"),
    (["--threshold", "1.5"], "threshold must be within [0, 1] (got 1.5); ConTeXT-match scores are cosines"),
    (["--group-col", "status"], "--group-col 'status' clashes with an output column of ads.parquet"),
    (["--text-col", "body"], "--text-col body: ads-sample.jsonl has no column 'body'"),
])
def test_cli_refuses_bad_options_before_any_work(tmp_path, capsys, extra, message):
    from workvec.cli import main

    assert main(["analyze", str(SAMPLE), "--out", str(tmp_path / "run"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_cli_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    from workvec.cli import main

    (tmp_path / "taxes.txt").write_text("mine")
    bundle_args = []
    for kind in ("title", "skill"):
        (tmp_path / kind).mkdir()
        (tmp_path / kind / "workvec.json").write_text("{}")
        bundle_args += [f"--{kind}-bundle", str(tmp_path / kind)]
    code = main(["analyze", str(SAMPLE), "--out", str(tmp_path), *bundle_args, "--titles-taxonomy",
                 str(SAMPLE.parent / "analyze-titles.csv"), "--skills-taxonomy", str(SAMPLE.parent / "analyze-skills.csv")])
    assert code == 2
    assert "exists and is not a workvec analyze run directory" in capsys.readouterr().err
    assert (tmp_path / "taxes.txt").read_text() == "mine"


def test_a_malformed_csv_row_is_kept_as_a_bad_row(tmp_path):
    path = tmp_path / "ads.csv"
    path.write_text('id,title,text\n1,Nurse,Patient care.\n2,Nurse,Too,many,fields\n3,Driver,"Drive\ntrucks."\n')
    columns, records = _records(path)
    ads = [prepare(r, i, columns) for i, r in enumerate(records)]
    assert sorted((ad.id, ad.status) for ad in ads) == [("1", "ok"), ("3", "ok"), ("ads.csv#malformed:1", "bad_row")]
    bad = next(ad for ad in ads if ad.status == "bad_row")
    assert bad.error.startswith("5 fields where the header has 3: '2,Nurse,Too,many,fields'")
    assert next(ad for ad in ads if ad.id == "3").text == "Drive\ntrucks."
    assert count_rows([path]) == 3


def test_non_utf8_bytes_are_replaced_and_flagged(tmp_path):
    path = tmp_path / "ads.jsonl"
    path.write_bytes(b'{"id": "a", "title": "Nurse", "text": "Caf\xe9 staff."}\n{"id": "b", "title": "Nurse", "text": "ok"}\n')
    columns, records = _records(path)
    ads = [prepare(r, i, columns) for i, r in enumerate(records)]
    assert [(ad.id, ad.status) for ad in ads] == [("a", "bad_encoding"), ("b", "ok")]
    assert ads[0].text == "Caf\ufffd staff." and "line 1 is not UTF-8 (byte" in ads[0].error


def test_defaults_are_the_librarys():
    from workvec.analyze import options
    from workvec.runtime import skills, titles

    assert options.DEFAULT_TITLES_TAXONOMY == titles.DEFAULT_TAXONOMY
    assert options.DEFAULT_SKILLS_TAXONOMY == skills.DEFAULT_TAXONOMY
    assert options.DEFAULT_THRESHOLD is None  # like SkillExtractor.open: the bundle's calibrated threshold
    assert skills.SkillExtractor.open.__kwdefaults__["threshold"] is None
