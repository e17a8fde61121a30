"""ESCO in other languages: the embedded German and Spanish occupations, gendered labels split into both forms,
and ESCO CSV exports of any language given as files."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from conftest import shared_path
from workvec.runtime.taxonomy import Concept, load_taxonomy
from workvec.runtime.taxonomy_gender import concept_labels, esco_language, gender_forms

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "build_taxonomies.py"
HEADER = "conceptType,conceptUri,iscoGroup,preferredLabel,altLabels,hiddenLabels,status\n"


@pytest.mark.parametrize("label, forms", [
    ("Technischer Leiter für Bühne, Film und Fernsehen/Technische Leiterin für Bühne, Film und Fernsehen",
     ("Technischer Leiter für Bühne, Film und Fernsehen", "Technische Leiterin für Bühne, Film und Fernsehen")),
    ("Metallziehmaschinenbediener/Metallziehmaschinenbedienerin",
     ("Metallziehmaschinenbediener", "Metallziehmaschinenbedienerin")),
    ("Arzt für Chirurgie/Ärztin für Chirurgie", ("Arzt für Chirurgie", "Ärztin für Chirurgie")),
    ("Koch/Köchin", ("Koch", "Köchin")),
    ("Mönch/Nonne", ("Mönch", "Nonne")),
    ("Lehrer/in für Erwachsenenalphabetisierung",
     ("Lehrer für Erwachsenenalphabetisierung", "Lehrerin für Erwachsenenalphabetisierung")),
    ("Kollege/in", ("Kollege", "Kollegin")),
    ("Vorarbeiter - Strickmaschinen/Vorarbeiter/in - Strickmaschinen",
     ("Vorarbeiter - Strickmaschinen", "Vorarbeiterin - Strickmaschinen")),
    ("Kaufmann/Kauffrau für Büromanagement", ("Kaufmann für Büromanagement", "Kauffrau für Büromanagement")),
    ("Import-/Exportmanager für Obst und Gemüse/Import-/Exportmanagerin für Obst und Gemüse",
     ("Import-/Exportmanager für Obst und Gemüse", "Import-/Exportmanagerin für Obst und Gemüse")),
    ("Pizzakoch//m", ("Pizzakoch",)),
    ("director técnico/directora técnica", ("director técnico", "directora técnica")),
    ("técnico/técnica de sonido", ("técnico de sonido", "técnica de sonido")),
    ("dentista equino/equina", ("dentista equino", "dentista equina")),
    ("pirata informático/informática ético/ética", ("pirata informático ético", "pirata informática ética")),
    ("técnico/a de codificación", ("técnico de codificación", "técnica de codificación")),
    ("jefe/a de cocina", ("jefe de cocina", "jefa de cocina")),
    ("redactor/a de revista", ("redactor de revista", "redactora de revista")),
    ("realizador de pruebas / realizadora de pruebas", ("realizador de pruebas", "realizadora de pruebas")),
    ("director de vestir/directora de vestir/", ("director de vestir", "directora de vestir")),
    ("/vendedora especializada en ropa", ("vendedora especializada en ropa",)),
    # slashes that do not join two forms stay as ESCO wrote them
    ("Import-/Exportsachbearbeiter", ("Import-/Exportsachbearbeiter",)),
    ("jefe de equipo de operadores de impresión/encuadernación",
     ("jefe de equipo de operadores de impresión/encuadernación",)),
    ("Lehrkraft für Erdkunde/Geografie Sekundarstufe", ("Lehrkraft für Erdkunde/Geografie Sekundarstufe",)),
    ("Schreiner", ("Schreiner",)),
])
def test_gender_forms(label: str, forms: tuple[str, ...]) -> None:
    assert gender_forms(label) == forms


def test_concept_labels_keep_the_first_form_preferred_and_drop_repeats() -> None:
    label, alts = concept_labels("Koch/Köchin", ("Köchin", "Küchenchef/in", "Koch"))
    assert (label, alts) == ("Koch", ("Köchin", "Küchenchef", "Küchenchefin"))


@pytest.mark.parametrize("name, language", [
    ("occupations_de.csv", "de"), ("occupations_de_v1.2.0.csv.gz", "de"), ("skills_es.csv", "es"),
    ("esco_occupations_fr.csv", "fr"), ("occupations_en.csv", "en"), ("my_esco.csv", None), ("esco-de.csv", None),
])
def test_esco_language_from_the_file_name(name: str, language: str | None) -> None:
    assert esco_language(name) == language


def _esco(tmp_path: Path, name: str) -> Path:
    rows = ['Occupation,u1,2654,Koch/Köchin,"Küchenchef/in\nKöchin",Chefkoch,released',
            'Occupation,u2,5120,director técnico/directora técnica,,,released']
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_an_esco_file_in_another_language_has_its_gendered_labels_split(tmp_path: Path) -> None:
    split = load_taxonomy(_esco(tmp_path, "occupations_de.csv"))
    assert split.concepts == (Concept("u1", "Koch", ("Köchin", "Küchenchef", "Küchenchefin", "Chefkoch")),
                              Concept("u2", "director técnico", ("directora técnica",)))
    for name in ("occupations_en.csv", "occupations.csv"):  # English, or a name that does not say: as written
        kept = load_taxonomy(_esco(tmp_path, name))
        assert kept.concepts[0] == Concept("u1", "Koch/Köchin", ("Küchenchef/in", "Köchin", "Chefkoch"))


@pytest.mark.parametrize("language, alts", [("de", 14_270), ("es", 11_898)])
def test_embedded_esco_occupations_in_german_and_spanish(language: str, alts: int) -> None:
    taxonomy = load_taxonomy(f"esco-occupations-{language}")
    assert taxonomy.name == f"esco-occupations-{language}"
    assert len(taxonomy) == 3_039 and sum(len(c.alt_labels) for c in taxonomy.concepts) == alts
    labels, _ = taxonomy.labels()
    pairs = [t for t in labels if re.search(r"\w/\w", t) and "-/" not in t]
    assert len(pairs) <= 20, pairs[:5]  # what is left joins other things ("Intensivpflege/Anästhesie")
    assert not any(re.search(r"\w/(in|innen|a)\b", t) for t in labels)


def test_embedded_german_first_concept() -> None:
    first = load_taxonomy("esco-occupations-de").concepts[0]
    assert first.id == "http://data.europa.eu/esco/occupation/00030d09-2b3a-4efd-87cc-c4ea39d27c34"
    assert first.label == "Technischer Leiter für Bühne, Film und Fernsehen"
    assert first.alt_labels[0] == "Technische Leiterin für Bühne, Film und Fernsehen"
    assert {"Inspizient", "Inspizientin"} <= set(first.alt_labels)


def test_embedded_spanish_splits_one_word_forms() -> None:
    concepts = {c.label: c for c in load_taxonomy("esco-occupations-es").concepts}
    assert concepts["director técnico"].alt_labels[0] == "directora técnica"


@pytest.mark.parametrize("language", ["de", "es", "en"])
def test_esco_v1_2_files_load_with_a_path(language: str) -> None:
    """The shared ESCO v1.2.0 exports (gzipped) load as `--taxonomy PATH` does; German and Spanish equal the
    embedded taxonomies, label for label."""
    taxonomy = load_taxonomy(shared_path("esco", "i18n", f"occupations_{language}_v1.2.0.csv.gz"))
    assert len(taxonomy) == 3_039 and taxonomy.name == f"occupations_{language}_v1.2.0"
    if language != "en":
        assert taxonomy.sha256 == load_taxonomy(f"esco-occupations-{language}").sha256


def test_build_script_rebuilds_the_german_and_spanish_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for language in ("de", "es"):
        shared_path("esco", "i18n", f"occupations_{language}_v1.2.0.csv.gz")
    spec = importlib.util.spec_from_file_location("build_taxonomies", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, script)
    spec.loader.exec_module(script)
    (tmp_path / "sources.json").write_bytes((script.DATA_DIR / "sources.json").read_bytes())
    script.build(None, tmp_path, {"esco-occupations-de", "esco-occupations-es"})
    assert script.compare(tmp_path, script.DATA_DIR) == 0
