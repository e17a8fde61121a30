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
    # US federal postings (USAJOBS): hiring authority, announcement and pay-plan grade markers
    ("Physician - JV - FY17 - DH/NC", "Physician"),
    ("Chemical Engineer - Direct Hire Authority", "Chemical Engineer"),
    ("Nurse Practitioner-DHA-Open Continuous", "Nurse Practitioner"),
    ("Medical Officer (Emergency Medicine) DHA", "Medical Officer (Emergency Medicine)"),
    ("Hotel Customer Service Agent, NF-02", "Hotel Customer Service Agent"),
    ("Program Support Assistant, GS-0303-07 (DE/CR)", "Program Support Assistant"),
    ("Hydrologic Technician - GS-1316-05/06 - (JM-DEU-PERM)", "Hydrologic Technician"),
    ("Social Insurance Specialist (Program Analyst) NTE 1 Year", "Social Insurance Specialist (Program Analyst)"),
    ("Quality Assurance Specialist (Recent Graduate)", "Quality Assurance Specialist"),
    ("Applied Microeconomist/Modeler (see How to Apply)", "Applied Microeconomist/Modeler"),
    ("Medical Technologist (Day Shift, Evening Shift, or Night Shift)", "Medical Technologist"),
]


@pytest.mark.parametrize(("title", "cleaned"), CASES)
def test_markers_are_removed(title: str, cleaned: str) -> None:
    assert clean_title(title) == cleaned


@pytest.mark.parametrize("title", ["Director of IT", "Engineer in Training", "Mobile Apps Developer (Full-stack)",
                                   "Chief Executive Officer", "Pflegefachkraft", "Sales Manager Europe",
                                   "Auditor (Internal)", "Nursing Assistant (Non Comp-Kerrville)", "F-35 Pilot",
                                   "Nurse (OR)"])
def test_real_titles_are_left_alone(title: str) -> None:
    assert clean_title(title) == title


@pytest.mark.parametrize("title", ["Senior", "(m/w/d)", "Full time", "12345", "GS-12", "Direct Hire", ""])
def test_cleaning_never_empties_a_title(title: str) -> None:
    assert clean_title(title) == " ".join(title.split())
