"""Shared by the tiny skill-extractor tests (test_skills.py, test_skills_extract.py; fixtures in conftest.py)."""

from __future__ import annotations

from workvec import SkillMatch
from workvec.runtime.evidence import MAX_SPANS

AD = """Senior Data Engineer (m/f/d) – Zürich
Strong Python programming skills are required. Experience with SQL databases is a plus.
• Build ETL pipelines in Apache Spark; maintain our CI/CD (GitLab) and C++ services.
• Communicate with stakeholders, manage a small team and write technical documentation.
Erfahrung mit Führung ist ein Plus — naïve café talk 😀 is not.
You will drive a forklift truck in our warehouse when needed!"""
LINES = ["We are hiring a nurse to care for patients and administer medication.",
         "You manage budgets, negotiate contracts with suppliers and report to the board.",
         "Experience with Java, Kubernetes and continuous integration is a plus."]
# The tiny model's random vectors score most labels near 0.8: a threshold where the bound prunes for real.
TINY_THRESHOLD = 0.84


def check_match(match: SkillMatch, text: str) -> None:
    """Offsets index `text` (the text given to extract): the sentence, and evidence inside it, in order."""
    assert text[match.sentence_start:match.sentence_end] == match.sentence, match
    spans = match.evidence
    assert 1 <= len(spans) <= MAX_SPANS, match
    for e in spans:
        assert text[e.start:e.end] == e.text and e.text.strip() == e.text != "", (e, match.sentence)
        assert match.sentence_start <= e.start < e.end <= match.sentence_end, (e, match)
        assert 0 < e.weight <= 1, e
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:])), f"spans overlap or are out of order: {spans}"
    assert sum(e.weight for e in spans) <= 1 + 1e-3
