"""Taxonomy loading: embedded defaults, ESCO/O*NET/generic files and bad input."""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
import time
from pathlib import Path

import pytest

from conftest import shared_path
from workvec.errors import TaxonomyError
from workvec.runtime.taxonomy import EMBEDDED, DATA_DIR, Concept, Taxonomy, load_taxonomy

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "build_taxonomies.py"


def esco_file(name: str) -> Path:
    return shared_path("esco", name)


def alt_count(taxonomy: Taxonomy) -> int:
    return sum(len(concept.alt_labels) for concept in taxonomy.concepts)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def load_error(path: Path | str, kind: str | None = None) -> str:
    with pytest.raises(TaxonomyError) as info:
        load_taxonomy(path, kind)
    return str(info.value)


@pytest.fixture(scope="module")
def esco_skills() -> Taxonomy:
    return load_taxonomy("esco-skills")


# Embedded taxonomies


def test_embedded_names() -> None:
    assert EMBEDDED == ("esco-skills", "onet", "esco-occupations", "esco-occupations-de", "esco-occupations-es")
    manifest = json.loads((DATA_DIR / "sources.json").read_text(encoding="utf-8"))
    assert sorted(manifest) == sorted(EMBEDDED)


def test_embedded_esco_skills_counts(esco_skills: Taxonomy) -> None:
    assert esco_skills.name == "esco-skills"
    assert len(esco_skills) == 13_939
    assert alt_count(esco_skills) == 86_533
    first = esco_skills.concepts[0]
    assert first.id == "http://data.europa.eu/esco/skill/0005c151-5b5a-4a66-8aac-60e734beb1ab"
    assert first.label == "manage musical staff"
    assert first.alt_labels[0] == "manage staff of music"
    assert first.description == ""


def test_embedded_esco_skills_is_fast() -> None:
    start = time.perf_counter()
    load_taxonomy("esco-skills")
    assert time.perf_counter() - start < 1.0


def test_embedded_onet() -> None:
    onet = load_taxonomy("onet")
    assert onet.name == "onet"
    assert len(onet) == 1_016
    assert onet.concepts[0] == Concept("11-1011.00", "Chief Executives")


def test_embedded_files_are_small() -> None:
    total = sum(path.stat().st_size for path in DATA_DIR.iterdir())
    assert total < 3_000_000


def test_unknown_embedded_name_lists_available() -> None:
    message = load_error("esco-skils")
    assert "esco-skils" in message and "esco-skills" in message and "onet" in message


def test_build_script_output_is_deterministic_and_loadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("build_taxonomies", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, script)  # dataclasses look their module up there
    spec.loader.exec_module(script)
    entries = [("u1", "weld metal", ("join metal", "braze")), ("u2", "bake bread", ())]
    data = script.encode(entries)
    assert data == script.encode(entries)
    loaded = load_taxonomy(write(tmp_path, "built.tsv.gz", data))
    assert loaded.concepts == (Concept("u1", "weld metal", ("join metal", "braze")), Concept("u2", "bake bread"))


# Taxonomy API


def test_labels_dedupe_within_concept() -> None:
    taxonomy = Taxonomy("t", (Concept("a", "Nurse", ("nurse", "RN", "rn", "Nurse")), Concept("b", "RN")))
    assert taxonomy.labels() == (["Nurse", "RN", "RN"], [0, 0, 1])
    assert taxonomy.labels(include_alt=False) == (["Nurse", "RN"], [0, 1])


def test_labels_embedded(esco_skills: Taxonomy) -> None:
    texts, owners = esco_skills.labels()
    assert len(texts) == len(owners) == 99_924  # 515 alt labels repeat their preferred label, 33 repeat another
    assert texts[0] == esco_skills.concepts[0].label and owners[:2] == [0, 0]
    assert len(esco_skills.labels(include_alt=False)[0]) == 13_939


def test_sha256_is_content_only() -> None:
    base = Taxonomy("x", (Concept("a", "A", ("A2",), "text"),))
    assert base.sha256 == Taxonomy("y", (Concept("a", "A", ("A2",), "other"),)).sha256
    assert base.sha256 != Taxonomy("x", (Concept("a", "A", ("A3",)),)).sha256
    assert base.sha256 != Taxonomy("x", (Concept("b", "A", ("A2",)),)).sha256
    assert len(base.sha256) == 64 and base == Taxonomy("x", (Concept("a", "A", ("A2",), "text"),))


# Files


def test_esco_skills_csv_matches_embedded(esco_skills: Taxonomy) -> None:
    skills = load_taxonomy(esco_file("skills_en.csv"))
    assert skills.name == "skills_en"
    assert len(skills) == 13_939 and alt_count(skills) == 86_533
    assert skills.sha256 == esco_skills.sha256
    assert skills.concepts[0].description.startswith("Assign and manage staff tasks")


def test_esco_occupations_csv() -> None:
    occupations = load_taxonomy(esco_file("occupations_en.csv"))
    assert len(occupations) == 2_942
    assert alt_count(occupations) == 30_067  # 29,997 alternative labels and 70 hidden ones (ESCO search terms)
    technical = occupations.concepts[0]
    assert technical.id.startswith("http://data.europa.eu/esco/occupation/")
    assert technical.label == "technical director"
    assert "technical manager" in technical.alt_labels


def test_esco_reads_hidden_labels_ignores_other_columns_and_strips(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "mini.csv",
        'conceptType,conceptUri,preferredLabel,altLabels,hiddenLabels,status\n'
        'Skill,u1, weld metal ,"join metal\n\n  braze  \n","braze\nweld metal\nsolder",released\n',
    )
    assert load_taxonomy(path).concepts == (Concept("u1", "weld metal", ("join metal", "braze", "solder")),)


def test_embedded_esco_occupations_search_hidden_labels() -> None:
    """ESCO keeps "physician", "doctor" and the medical specialties only as hidden labels."""
    concepts = {c.label: c for c in load_taxonomy("esco-occupations").concepts}
    assert {"physician", "doctor", "medical officer"} <= set(concepts["general practitioner"].alt_labels)
    assert {"physician", "psychiatrist", "surgeon"} <= set(concepts["specialised doctor"].alt_labels)
    assert "general practitioner" not in concepts["general practitioner"].alt_labels


def test_onet_occupation_data(tmp_path: Path) -> None:
    text = "O*NET-SOC Code\tTitle\tDescription\r\n11-1011.00\tChief Executives\tLead.\r\n"
    path = write(tmp_path, "Occupation Data.txt", text)
    taxonomy = load_taxonomy(path)
    assert taxonomy.name == "Occupation Data"
    assert taxonomy.concepts == (Concept("11-1011.00", "Chief Executives", (), "Lead."),)


def test_generic_csv_and_tsv(tmp_path: Path) -> None:
    expected = (Concept("1", "Data Scientist", ("ML engineer", "statistician"), "Models."), Concept("2", "Baker"))
    csv_text = 'id,label,alt_labels,description\n1,Data Scientist,"ML engineer\nstatistician",Models.\n2,Baker,,\n'
    tsv_text = "label\tid\talt_labels\tdescription\nData Scientist\t1\tML engineer|statistician\tModels.\n"
    tsv_text += "Baker\t2\t\t\n"
    csv_path = write(tmp_path, "titles.csv", csv_text)
    tsv_path = write(tmp_path, "titles.tsv", tsv_text)
    assert load_taxonomy(csv_path).concepts == expected
    assert load_taxonomy(tsv_path).concepts == expected
    assert load_taxonomy(csv_path).name == "titles"


def test_generic_jsonl_and_gzip(tmp_path: Path) -> None:
    lines = [
        {"id": "a", "label": "Nurse", "alt_labels": ["RN", " "]},
        {"id": 7, "label": "Cook", "alt_labels": "chef|line cook", "description": "Food."},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + "\n\n"
    expected = (Concept("a", "Nurse", ("RN",)), Concept("7", "Cook", ("chef", "line cook"), "Food."))
    assert load_taxonomy(write(tmp_path, "custom.jsonl", text)).concepts == expected
    zipped = load_taxonomy(write(tmp_path, "custom.jsonl.gz", gzip.compress(text.encode())))
    assert zipped.concepts == expected and zipped.name == "custom"


def test_kind_forces_format(tmp_path: Path) -> None:
    path = write(tmp_path, "weird.txt", '{"id": "a", "label": "A"}\n')
    assert len(load_taxonomy(path, kind="jsonl")) == 1
    assert "missing column 'conceptUri'" in load_error(path, kind="esco")
    assert "unknown taxonomy kind" in load_error(path, kind="xml")


# Bad input


def test_missing_file(tmp_path: Path) -> None:
    message = load_error(tmp_path / "nope.csv")
    assert "nope.csv" in message and "no such" in message


def test_directory(tmp_path: Path) -> None:
    write(tmp_path, "skills_en.csv", "id,label\n1,a\n")
    message = load_error(tmp_path)
    assert "is a directory" in message and "skills_en.csv" in message


def test_non_utf8_reports_offset(tmp_path: Path) -> None:
    path = write(tmp_path, "latin.csv", "id,label\n1,caf".encode() + b"\xe9\n")
    message = load_error(path)
    assert "latin.csv" in message and "UTF-8" in message and "byte offset 14" in message and "line 2" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"PK\x03\x04\x14\x00\x06\x00", "zip"),
        ("id,label\n1,a\n".encode("utf-16"), "UTF-16"),
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
    ],
)
def test_binary_file(tmp_path: Path, content: bytes, expected: str) -> None:
    message = load_error(write(tmp_path, "blob.csv", content))
    assert "blob.csv" in message and expected in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("just a list of labels\nanother label\n", "not a CSV/TSV/JSONL"),
        ('[{"id": "a", "label": "A"}]\n', "JSON array"),
        ("<html><body>titles</body></html>\n", "XML/HTML"),
        ('{"id": "a", "label": "A"}\n{"id": "b", "label": \n', "line 2 is not valid JSON"),
        ('{"id": "a", "label": "A"}\n["b", "B"]\n', "line 2 holds a JSON list"),
        ("   \n\n", "empty"),
        ("id,label\n", "no concepts"),
        ('id,label\n1,"unclosed\n', "malformed CSV"),
    ],
)
def test_not_a_taxonomy_format(tmp_path: Path, content: str, expected: str) -> None:
    message = load_error(write(tmp_path, "input.csv", content))
    assert "input.csv" in message and expected in message


def test_missing_column_named_with_columns_found(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, "titles.csv", "code,label,notes\n1,a,x\n"))
    assert "missing column 'id'" in message and "columns found: code, label, notes" in message
    esco = load_error(write(tmp_path, "skills_en.csv", "conceptUri,altLabels\nu1,x\n"))
    assert "missing column 'preferredLabel'" in esco and "columns found: conceptUri, altLabels" in esco


def test_jsonl_missing_field(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, "c.jsonl", '{"id": "a", "name": "A"}\n'))
    assert "line 1" in message and "'label'" in message and "fields found: id, name" in message


def test_jsonl_bad_alt_labels(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, "c.jsonl", '{"id": "a", "label": "A", "alt_labels": [1, 2]}\n'))
    assert "line 1" in message and "alt_labels" in message


def test_duplicate_ids_reported(tmp_path: Path) -> None:
    rows = "".join(f"{i % 4},label {i}\n" for i in range(10))
    message = load_error(write(tmp_path, "dups.csv", "id,label\n" + rows))
    assert "dups.csv" in message and "4 duplicate ids" in message and "'0' (lines 2, 6, 10)" in message


def test_empty_labels_and_ids_reported(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, "gaps.csv", "id,label\n1,a\n2,\n3,  \n,d\n"))
    assert "empty label on line 3, 4" in message and "empty id on line 5" in message


@pytest.mark.parametrize("name", ["esco-skills", "onet"])
def test_embedded_fast_path_equals_the_validating_parser(name: str) -> None:
    from workvec.runtime import taxonomy

    fast = load_taxonomy(name)
    slow = taxonomy._load_file(taxonomy.DATA_DIR / f"{name}.tsv.gz", "csv", name)
    assert fast == slow and fast.sha256 == slow.sha256


def test_sha256_separates_fields() -> None:
    one = Taxonomy("x", (Concept("a", "A", ("B", "C")),))
    assert one.sha256 != Taxonomy("x", (Concept("a", "A", ("B|C",)),)).sha256
    assert one.sha256 != Taxonomy("x", (Concept("a", "A", ("B",)), Concept("C", "", ()))).sha256
