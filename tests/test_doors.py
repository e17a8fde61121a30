"""One engine behind every door: the Python API, the CLI (`--json`), the HTTP service (`/v1/normalize`,
`/v1/extract` on a real loopback server) and the corpus job (`workvec analyze`) give identical answers, bit
for bit, for the same inputs and settings; and refuse the same bad input with the same message.

The shipped model (real int8 graph, real requirement filter) over slices of the embedded ESCO taxonomies, so
the label indexes build in seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import run_cli
from conftest import write_taxonomy
from serve_support import running

import workvec
from workvec.errors import InputError
from workvec.runtime.skill_job import MAX_TEXT_BYTES
from workvec.runtime.taxonomy import load_taxonomy

pytest.importorskip("fastapi")
pytest.importorskip("pyarrow")

TITLES = ["Accountant", "Accountant - $25/hr", "Java Developer (Spring Boot)", "Sr. Java Dev",
          "Pflegefachkraft (m/w/d)", "Ingénieur logiciel", "", "Registered Nurse - Night Shift", "Lead Plumber",
          "Teacher", "Civil Engineer", "Accountant"]
TITLE_WORDS = ("account", "developer", "nurse", "plumb", "teacher", "engineer", "welder", "controller",
               "lecturer", "planner", "circus", "mathematic")
SKILL_WORDS = ("python", "sql", "data", "customer", "team", "volunteer", "religio", "spiritual", "budd", "sponsor",
               "grocer", "communicat", "document", "drive", "forklift", "warehouse", "patient", "nurs", "veteran")
BOILERPLATE = ("We offer a competitive salary, health insurance and a company car. "
               "We are an equal opportunity employer and do not discriminate on the basis of race, religion, "
               "spiritual beliefs, sex or age. Visa sponsorship is not available.")
ADS = [
    "You build data pipelines in Python and write efficient SQL. " + BOILERPLATE,
    "Deliver excellent customer service.\nDeliver excellent customer service.\n"
    "You will drive a forklift truck in our warehouse. Deliver excellent customer service.",
    "Registered nurses provide patient care and keep accurate documentation. Volunteer experience counts.",
    "",
    "Sie haben Erfahrung mit Python und SQL. You know Python and SQL.",
]


def _slice(name: str, words: tuple[str, ...], path: Path) -> Path:
    """The concepts of an embedded taxonomy with a label containing one of `words` (alternatives kept)."""
    rows = [(c.id, c.label, [a for a in c.alt_labels if a.strip()]) for c in load_taxonomy(name).concepts
            if any(w in label.lower() for label in (c.label, *c.alt_labels) for w in words)]
    return write_taxonomy(path, rows)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """Taxonomy slices, inputs (one ad over MAX_TEXT_BYTES) and the Python door's answers."""
    tmp = tmp_path_factory.mktemp("doors")
    big = "\n\n".join([ADS[0], ADS[1]] * (MAX_TEXT_BYTES // len(ADS[0] + ADS[1]) + 20))
    assert len(big.encode()) > MAX_TEXT_BYTES
    ads = [*ADS, big]
    home = {"titles": _slice("esco-occupations", TITLE_WORDS, tmp / "titles.csv"),
            "skills": _slice("esco-skills", SKILL_WORDS, tmp / "skills.csv"), "index": tmp / "index", "tmp": tmp}
    home["index"].mkdir()
    titles = workvec.TitleNormalizer.open(taxonomy=home["titles"], index_dir=home["index"], threads=1)
    skills = workvec.SkillExtractor.open(taxonomy=home["skills"], index_dir=home["index"], threads=1)
    home["normalize"] = [a.to_json() for a in titles.normalize(TITLES, k=3)]
    home["extract"] = [r.to_json() for r in skills.extract_batch(ads)]
    home["ads"] = ads
    home["pair"] = [a.to_json() for a in titles.normalize(TITLES, k=2)]
    return home


def test_python_answers_are_the_product_answers(world: dict) -> None:
    """The inputs exercise what the doors must agree on: cleaning, qualifiers, ties, the floor, the filter."""
    by_query = {a["query"]: a for a in world["normalize"]}
    assert by_query["Sr. Java Dev"]["cleaned"] == "Java Dev"
    assert by_query[""]["no_match"] and by_query[""]["matches"] == []
    assert world["normalize"][0] == world["normalize"][-1]  # a repeated title: the same answer
    reports = world["extract"]
    assert reports[0]["skipped"], "the boilerplate sentences are skipped by the requirement filter"
    assert reports[3] == {"skills": [], "skipped": [], "truncated": False}
    assert [s["skipped"] for s in reports[4]["skipped"]] == ["language de"]  # the language guard
    assert reports[5]["truncated"] and not reports[0]["truncated"]
    assert [s["id"] for s in reports[5]["skills"]] == [s["id"] for s in _best_of(reports[0], reports[1])]
    assert by_query["Pflegefachkraft (m/w/d)"]["language"] == "de" and by_query["Pflegefachkraft (m/w/d)"]["no_match"]


def _best_of(*reports: dict) -> list[dict]:
    """The skills of texts joined: best score per skill, first on ties, best first (what merging does)."""
    best: dict[str, dict] = {}
    for report in reports:
        for s in report["skills"]:
            if s["id"] not in best or s["score"] > best[s["id"]]["score"]:
                best[s["id"]] = s
    return sorted(best.values(), key=lambda s: -s["score"])


def test_the_cli_prints_the_python_answers(world: dict, capsys) -> None:
    common = ["--index-dir", world["index"], "--threads", "1", "--quiet", "--json"]
    (world["tmp"] / "titles.txt").write_text("\n".join(TITLES) + "\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "normalize", "--file", world["tmp"] / "titles.txt", "--k", "3",
                             "--taxonomy", world["titles"], *common)
    assert code == 0, err
    assert [json.loads(line) for line in out.splitlines()] == world["normalize"]
    for i, (ad, want) in enumerate(zip(world["ads"], world["extract"])):
        path = world["tmp"] / f"ad{i}.txt"
        path.write_text(ad, encoding="utf-8")
        code, out, err = run_cli(capsys, "extract", "--file", path, "--taxonomy", world["skills"], *common)
        assert code == 0, err
        assert json.loads(out) == want, f"ad {i}"


def _serve_args(world: dict) -> list[str]:
    return ["--titles-taxonomy", str(world["titles"]), "--skills-taxonomy", str(world["skills"]),
            "--index-dir", str(world["index"]), "--threads", "1", "--log-level", "warning",
            "--max-request-bytes", str(4 * MAX_TEXT_BYTES), "--max-queue", "4096"]


def test_the_service_answers_the_python_answers(world: dict) -> None:
    with running(_serve_args(world), world["tmp"]) as server, server.client(timeout=120) as client:
        got = client.post("/v1/normalize", json={"titles": TITLES, "k": 3})
        assert got.status_code == 200, got.text
        assert got.json()["results"] == world["normalize"]
        alone = [client.post("/v1/normalize", json={"titles": [t], "k": 3}).json()["results"][0] for t in TITLES]
        assert alone == world["normalize"]
        got = client.post("/v1/extract", json={"texts": world["ads"]})
        assert got.status_code == 200, got.text
        assert got.json()["results"] == world["extract"]
        raw = client.post("/v1/extract", json={"texts": ADS[:1], "requirement_filter": False, "k": 2})
        python = workvec.SkillExtractor.open(taxonomy=world["skills"], index_dir=world["index"], threads=1)
        assert raw.json()["results"] == [python.extract(ADS[0], requirement_filter=False, k=2).to_json()]


def test_the_corpus_job_answers_the_python_answers(world: dict, capsys) -> None:
    import pyarrow.parquet as pq

    titled = [t for t in TITLES if t.strip()]
    lines = [{"id": f"ad{i}", "title": titled[i % len(titled)], "text": ad, "date": "2024-03-01"}
             for i, ad in enumerate(world["ads"]) if ad]
    corpus = world["tmp"] / "ads.jsonl"
    corpus.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    out = world["tmp"] / "run"
    code, _, err = run_cli(capsys, "analyze", corpus, "--out", out, "--titles-taxonomy", world["titles"],
                           "--skills-taxonomy", world["skills"], "--threads", "1", "--quiet", "--shard-rows", "2")
    assert code == 0, err
    ads = pq.read_table(out / "ads.parquet").to_pylist()
    skills = pq.read_table(out / "ad_skills.parquet").to_pylist()
    pair = {a["query"]: a for a in world["pair"]}
    reports = dict(zip((f"ad{i}" for i in range(len(world["ads"]))), world["extract"]))
    for ad in ads:
        want = pair[ad["title"]]
        top = [(m["id"], m["score"]) for m in want["matches"]] + [(None, None)] * 2
        assert (ad["occupation_id"], ad["occupation_score"], ad["runner_up_id"], ad["runner_up_score"],
                ad["occupation_no_match"]) == (*top[0], *top[1], want["no_match"]), ad["id"]
        got = [(r["skill_id"], r["score"], r["sentence_start"], r["sentence_end"],
                [dict(e) for e in r["evidence"]]) for r in skills if r["id"] == ad["id"]]
        assert got == [(s["id"], s["score"], s["sentence_start"], s["sentence_end"], s["evidence"])
                       for s in reports[ad["id"]]["skills"]], ad["id"]
    assert {ad["id"]: ad["status"] for ad in ads}["ad5"] == "truncated"


BAD = [({"k": 0}, "k must be a positive integer (got 0)"),
       ({"threshold": 1.5}, "threshold must be within [0, 1] (got 1.5)")]


@pytest.mark.parametrize(("option", "message"), BAD)
def test_every_door_refuses_bad_settings_alike(world: dict, capsys, option: dict, message: str) -> None:
    (name, value), = option.items()
    with pytest.raises(InputError) as python:
        workvec.ExtractSettings(**option)
    assert message in str(python.value)
    code, out, err = run_cli(capsys, "extract", "Python and SQL.", f"--{name}", str(value))
    assert code == 2 and out == "" and err.strip().splitlines()[-1] == f"workvec: error: {python.value}"
    with running(_serve_args(world), world["tmp"]) as server, server.client() as client:
        got = client.post("/v1/extract", json={"texts": ["Python and SQL."], **option})
    assert got.status_code == 422 and got.json()["error"]["message"] == str(python.value)
    if name == "threshold":  # the corpus job's one setting of these
        corpus = world["tmp"] / "one.jsonl"
        corpus.write_text(json.dumps({"id": "1", "title": "Nurse", "text": "Python."}) + "\n", encoding="utf-8")
        code, _, err = run_cli(capsys, "analyze", corpus, "--out", world["tmp"] / "bad-run", f"--{name}", str(value))
        assert code == 2 and err.strip().splitlines()[-1] == f"workvec: error: {python.value}"
