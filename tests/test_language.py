"""The language guard (workvec.runtime.language): titles and sentences in other languages are recognised for an
English-only bundle, English ones are not; the answers name the language in every door."""

from __future__ import annotations

import pytest

from workvec.runtime.language import LanguageGuard

FOREIGN_TITLES = {
    "de": ["Pflegefachkraft (m/w/d)", "Softwareentwickler", "Lagerarbeiter", "Verkäufer im Einzelhandel",
           "Erzieherin", "Elektroniker für Betriebstechnik"],
    "fr": ["Ingénieur logiciel", "Infirmière", "Chauffeur poids lourd", "Vendeur en magasin", "Comptable"],
    "es": ["Desarrollador web", "Enfermera", "Camarero", "Conductor de camión", "Dependienta de tienda"],
    "nl": ["Verpleegkundige", "Vrachtwagenchauffeur", "Softwareontwikkelaar", "Magazijnmedewerker", "Boekhouder"],
    "pl": ["Pielęgniarka", "Kierowca ciężarówki", "Magazynier", "Księgowa", "Sprzedawca"],
}
FOREIGN_SENTENCES = {
    "de": ["Wir suchen eine Pflegefachkraft für unser Team.", "Sie haben Erfahrung mit Python und SQL."],
    "fr": ["Vous maîtrisez Python et SQL.", "Nous recherchons un ingénieur logiciel expérimenté."],
    "es": ["Buscamos un desarrollador con experiencia en Python.", "Ofrecemos un salario competitivo."],
    "nl": ["Je beheerst Python en SQL.", "Wij zoeken een ervaren verpleegkundige."],
    "pl": ["Znajomość języka Python jest wymagana.", "Szukamy doświadczonego kierowcy."],
}
ENGLISH = ["Barista", "Java Dev", "RN", "Sr. Java Dev", "Registered Nurse", "Truck Driver", "Accountant",
           "Software Engineer", "Warehouse Associate", "Cook", "HGV Driver", "Data Scientist", "Lead Plumber",
           "You build data pipelines in Python and write efficient SQL.", "Deliver excellent customer service.",
           "We offer a competitive salary and health insurance."]

pytest.importorskip("lingua")


@pytest.mark.parametrize(("language", "text"), [(lang, t) for lang, texts in FOREIGN_TITLES.items() for t in texts]
                         + [(lang, t) for lang, texts in FOREIGN_SENTENCES.items() for t in texts])
def test_other_languages_are_recognised(language: str, text: str) -> None:
    assert LanguageGuard(("en",)).foreign(text) == language


@pytest.mark.parametrize("text", ENGLISH)
def test_english_passes(text: str) -> None:
    assert LanguageGuard(("en",)).foreign(text) is None


def test_other_scripts_and_multilingual_bundles() -> None:
    guard = LanguageGuard(("en",))
    assert guard.foreign("软件工程师") == "zh" and guard.foreign("Программист") == "ru"
    assert guard.foreign("软件工程师 Java") == "zh" and guard.foreign("Senior Java 工程师") is None  # most letters
    assert guard.foreign("") is None and guard.foreign("1234 - !!") is None
    assert LanguageGuard(("en", "de", "es", "zh")).foreign("Pflegefachkraft") is None  # JobBERT-v3-like: passes


def test_every_door_names_the_language(tmp_path, capsys) -> None:
    """Python and the CLI (the service and analyze are compared with them in tests/test_doors.py): a German title
    is no_match with its language and no candidates, a German sentence is skipped with it; the guard can be off."""
    import json

    from cli_helpers import run_cli
    from conftest import write_taxonomy

    import workvec

    tax = write_taxonomy(tmp_path / "tax.csv", [("nurse", "nurse", ("registered nurse",)), ("py", "Python", ())])
    titles = workvec.TitleNormalizer.open(taxonomy=tax, index_dir=tmp_path, threads=1)
    (german,) = titles.normalize(["Pflegefachkraft (m/w/d)"])
    assert german.no_match and german.language == "de" and german.matches == ()
    (anyway,) = titles.normalize(["Pflegefachkraft (m/w/d)"], workvec.NormalizeSettings(language_guard=False))
    assert anyway.language is None and anyway.matches
    code, out, _ = run_cli(capsys, "normalize", "Pflegefachkraft (m/w/d)", "--taxonomy", tax, "--index-dir", tmp_path,
                           "--json")
    assert code == 0 and json.loads(out) == german.to_json()
    skills = workvec.SkillExtractor.open(taxonomy=tax, index_dir=tmp_path, threads=1)
    report = skills.extract("Sie haben Erfahrung mit Python. You know Python.")
    assert [(s.text, s.skipped) for s in report.skipped] == [("Sie haben Erfahrung mit Python.", "language de")]
    assert not skills.extract("Sie haben Erfahrung mit Python.", language_guard=False).skipped
