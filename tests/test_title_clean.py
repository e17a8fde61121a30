"""Title cleaning before encoding (workvec.runtime.title_clean): markers go, the occupation stays."""

from __future__ import annotations

import pytest

from workvec.runtime.title_clean import clean_title

CASES = [
    ("Fullstack Engineer (m/w/d)", "Fullstack Engineer"),
    ("Data Engineer (f/m/x)", "Data Engineer"),
    ("Warehouse Worker m/f/d", "Warehouse Worker"),
    ("Head of Sales (all genders)", "Head of Sales"),
    ("Pflegefachkraft (w/m/d)", "Pflegefachkraft"),
    ("Sr. Java Developer (Spring Boot)", "Java Developer (Spring Boot)"),
    ("Jr. Accountant", "Accountant"),
    ("Software Engineer II", "Software Engineer"),
    ("P&O Associate - Level II", "P&O Associate"),
    ("Junior Drafter", "Drafter"),
    ("Production Operator 1", "Production Operator"),
    ("Nurse - Night Shift", "Nurse"),
    ("RN - ICU night shifts", "RN - ICU"),
    ("Sales Executive (Full time)", "Sales Executive"),
    ("Contract - Marketing Assistant", "Marketing Assistant"),
    ("Data Analyst, Remote", "Data Analyst"),
    ("Chef de partie (Seasonal)", "Chef de partie"),
    ("Technician-RM1500* | FOC Monthly Activities", "Technician"),
    ("Retail Assistant @ Queensbay Mall, Penang", "Retail Assistant"),
    ("Accountant (Ref: 12345)", "Accountant"),
    ("Vacancy for Shop Assistant", "Shop Assistant"),
    ("Production Clerk (Male Only)", "Production Clerk"),
    ("  Forklift   driver  ", "Forklift driver"),
]


@pytest.mark.parametrize(("title", "cleaned"), CASES)
def test_markers_are_removed(title: str, cleaned: str) -> None:
    assert clean_title(title) == cleaned


@pytest.mark.parametrize("title", ["Director of IT", "Engineer in Training", "Mobile Apps Developer (Full-stack)",
                                   "Chief Executive Officer", "Pflegefachkraft", "Sales Manager Europe"])
def test_real_titles_are_left_alone(title: str) -> None:
    assert clean_title(title) == title


@pytest.mark.parametrize("title", ["Senior", "(m/w/d)", "Full time", "12345", ""])
def test_cleaning_never_empties_a_title(title: str) -> None:
    assert clean_title(title) == " ".join(title.split())
