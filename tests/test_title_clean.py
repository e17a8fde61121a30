"""Title cleaning before encoding (workvec.runtime.title_clean): markers go, the occupation stays.

One parametrized test per rule family of the module docstring, each example with its exact cleaned text, and a
property over all of them and the real titles of the shared data (JobBERT validation, USAJOBS 2017): a cleaning
never leaves a piece of a word ("Accountant - $25/hr" was once "Accountant - r"), a dangling separator, an
unbalanced bracket, or an empty title.
"""

from __future__ import annotations

import csv
import gzip
import json
import re

import pytest
from conftest import shared_path

from workvec.runtime.title_clean import clean_title

GENDER = [
    ("Fullstack Engineer (m/w/d)", "Fullstack Engineer"),
    ("Warehouse Worker (m/f/d)", "Warehouse Worker"),
    ("Pflegefachkraft (w/m/d)", "Pflegefachkraft"),
    ("Pflegefachkraft (m/w/d)", "Pflegefachkraft"),
    ("Data Engineer (f/m/x)", "Data Engineer"),
    ("Data Scientist (m/f/x)", "Data Scientist"),
    ("Projektleiter Bau (d/f/m)", "Projektleiter Bau"),
    ("Industriekaufmann (m/w/divers)", "Industriekaufmann"),
    ("Elektriker m/w/d", "Elektriker"),
    ("Warehouse Worker m/f/d", "Warehouse Worker"),
    ("Vertriebsmitarbeiter (M/W/D) - Außendienst", "Vertriebsmitarbeiter - Außendienst"),
    ("Comptable (H/F)", "Comptable"),
    ("Vendeur en boulangerie (F/H)", "Vendeur en boulangerie"),
    ("Camarero (h/m)", "Camarero"),
    ("Verpleegkundige (m/v)", "Verpleegkundige"),
    ("Java Developer (m/v/x)", "Java Developer"),
    ("Księgowa (k/m)", "Księgowa"),
    ("Head of Sales (all genders)", "Head of Sales"),
    ("Sachbearbeiter Buchhaltung (alle Geschlechter)", "Sachbearbeiter Buchhaltung"),
    ("Mitarbeiter*in Empfang", "Mitarbeiter Empfang"),
    ("Erzieher/in (m/w/d)", "Erzieher"),
    ("Kaufmann/-frau für Büromanagement (m/w/d)", "Kaufmann für Büromanagement"),
    ("Camarero/a", "Camarero"),
]

PAY = [
    ("Accountant - $25/hr", "Accountant"),
    ("Cook - $18.50/hour", "Cook"),
    ("Welder - $25 per hour", "Welder"),
    ("Warehouse Associate $17 an hour", "Warehouse Associate"),
    ("Cleaner £10.50 p/h", "Cleaner"),
    ("Care Assistant £11.20ph", "Care Assistant"),
    ("Delivery Driver $1,200/week", "Delivery Driver"),
    ("Bookkeeper £30k", "Bookkeeper"),
    ("Nurse $20-$25/hr", "Nurse"),
    ("Nurse $20 - 25/hr", "Nurse"),
    ("CNA $18 to $22 per hour", "CNA"),
    ("Software Developer £30k - £40k", "Software Developer"),
    ("Marketing Manager £30,000 - £35,000", "Marketing Manager"),
    ("Marketing Manager £30,000-£35,000 per annum", "Marketing Manager"),
    ("Project Manager £45,000 p.a.", "Project Manager"),
    ("Softwareentwickler €45.000 brutto", "Softwareentwickler"),
    ("Pflegefachkraft (m/w/d) - 3.500 € brutto/Monat", "Pflegefachkraft"),
    ("Data Engineer €55.000 - €65.000", "Data Engineer"),
    ("Sales Engineer up to $80k", "Sales Engineer"),
    ("Sales Engineer - Up to $80K + Commission", "Sales Engineer"),
    ("Estimator (Salary DOE)", "Estimator"),
    ("Site Manager - DOE", "Site Manager"),
    ("Bar Manager - Salary: Negotiable", "Bar Manager"),
    ("Retail Assistant (Up to RM2500)", "Retail Assistant"),
    ("Technician-RM1500* | FOC Monthly Activities", "Technician"),
    ("Customer Services Executive (Salary RM1800 - RM2000)", "Customer Services Executive"),
    ("Housekeeping Attendant (Part-time, RM10 per hour)", "Housekeeping Attendant"),
    ("Semi-Skilled Worker (Electrical Unit) - RM8/hour", "Semi-Skilled Worker (Electrical Unit)"),
    ("Tax Senior (Diploma: RM2,500-RM5,000)", "Tax (Diploma)"),
    ("Banking Customer Service (Salary Up to 5K / Fresh Graduate)", "Banking Customer Service"),
    ("Production Operator Lelaki (Gaji Kasar >RM2400)", "Production Operator Lelaki"),
    ("FAP Clinical Counselor, Okinawa, Japan $26.00-$28.00/HOUR", "FAP Clinical Counselor, Okinawa, Japan"),
]

SHIFTS = [
    ("Nurse - Night Shift", "Nurse"),
    ("RN - ICU night shifts", "RN - ICU"),
    ("Nurse - Nights", "Nurse"),
    ("RN - Days", "RN"),
    ("Security Officer (Weekend Shift)", "Security Officer"),
    ("Warehouse Operative - Rotating Shifts", "Warehouse Operative"),
    ("Machine Operator - 2nd Shift", "Machine Operator"),
    ("Machine Operator 3rd shift", "Machine Operator"),
    ("Night Shift Supervisor", "Supervisor"),
    ("Production Line Leader (shift)", "Production Line Leader"),
    ("Clinical Pharmacist (Night Shift - 3rd Shift)", "Clinical Pharmacist"),
    ("Medical Technologist (Day Shift, Evening Shift, or Night Shift)", "Medical Technologist"),
    ("Customer Service Executive (24/7 shift) @ MNC", "Customer Service Executive"),
]

CONTRACT = [
    ("Sales Executive (Full time)", "Sales Executive"),
    ("Barista - Part-Time", "Barista"),
    ("Part-Time Cashier", "Cashier"),
    ("Cashier Full-time/Part-time", "Cashier"),
    ("Tuition Teacher Full Time / Part Time", "Tuition Teacher"),
    ("MBA Lecturer - Part Time (Accounting & Finance)", "MBA Lecturer (Accounting & Finance)"),
    ("Receptionist (Temp)", "Receptionist"),
    ("Accountant - Temporary", "Accountant"),
    ("Nurse (Contract)", "Nurse"),
    ("Contract - Marketing Assistant", "Marketing Assistant"),
    ("Office Manager (Permanent)", "Office Manager"),
    ("HR Operations Administrator - Fixed Term Contract", "HR Operations Administrator"),
    ("Payroll Clerk (6 month contract)", "Payroll Clerk"),
    ("HR Assistant - 6 Months Contract", "HR Assistant"),
    ("Project Coordinator 12-month contract", "Project Coordinator"),
    ("Customer Service Associate (6months contract)", "Customer Service Associate"),
    ("Clerk (3 months)", "Clerk"),
    ("Data Analyst, Remote", "Data Analyst"),
    ("Data Analyst (Remote)", "Data Analyst"),
    ("Software Engineer - Hybrid", "Software Engineer"),
    ("Accounting Manager (Work From Home)", "Accounting Manager"),
    ("Chef de partie (Seasonal)", "Chef de partie"),
    ("Mitarbeiter Kundenservice (m/w/d) Teilzeit", "Mitarbeiter Kundenservice"),
    ("Erzieher (m/w/d) in Vollzeit", "Erzieher"),
    ("Pflegefachkraft (m/w/d) in Teil- oder Vollzeit", "Pflegefachkraft"),
    ("Vacancy for Shop Assistant", "Shop Assistant"),
    ("Production Clerk (Male Only)", "Production Clerk"),
    ("Commis I/II/III- URGENT HIRING", "Commis"),
]

SENIORITY = [
    ("Sr. Java Developer (Spring Boot)", "Java Developer (Spring Boot)"),
    ("Jr. Accountant", "Accountant"),
    ("Snr Accounts Assistant", "Accounts Assistant"),
    ("Senior Accountant", "Accountant"),
    ("Junior Drafter", "Drafter"),
    ("Software Engineer II", "Software Engineer"),
    ("Programmer Analyst III", "Programmer Analyst"),
    ("Field Specialist IV", "Field Specialist"),
    ("Clerk I", "Clerk"),
    ("Software Development Engineer I / II", "Software Development Engineer"),
    ("Sr Engineer I/II – Design Implementation", "Engineer – Design Implementation"),
    ("P&O Associate - Level II", "P&O Associate"),
    ("Rope Access Technician Level 3", "Rope Access Technician"),
    ("Air Cond Entry Level Technician", "Air Cond Technician"),
    ("Contract Specialist (Senior Level) NF-04", "Contract Specialist"),
    ("Child and Youth Program Assistant (Entry Level 2)", "Child and Youth Program Assistant"),
    ("Production Operator 1", "Production Operator"),
]

KEPT_ON_PURPOSE = [  # a different role, not a rank within one: "Lead" and its kin stay
    "Lead Plumber", "Team Lead", "Lead Developer", "Principal Engineer", "Chief Executive Officer",
    "Head of Sales", "Staff Nurse", "Trainee Accountant", "Apprentice Electrician", "Contract Manager",
    "Shift Manager", "Night Audit", "Day Care Teacher", "Remote Sensing Specialist",
]

FEDERAL_AND_REFERENCE = [
    ("Physician - JV - FY17 - DH/NC", "Physician"),
    ("Chemical Engineer - Direct Hire Authority", "Chemical Engineer"),
    ("Nurse Practitioner-DHA-Open Continuous", "Nurse Practitioner"),
    ("Medical Officer (Emergency Medicine) DHA", "Medical Officer (Emergency Medicine)"),
    ("Hotel Customer Service Agent, NF-02", "Hotel Customer Service Agent"),
    ("Program Support Assistant, GS-0303-07 (DE/CR)", "Program Support Assistant"),
    ("Hydrologic Technician - GS-1316-05/06 - (JM-DEU-PERM)", "Hydrologic Technician"),
    ("Mechanical Engineer ZP-0830-III (GS-11/12 equivalent)", "Mechanical Engineer"),
    ("Social Insurance Specialist (Program Analyst) NTE 1 Year", "Social Insurance Specialist (Program Analyst)"),
    ("Quality Assurance Specialist (Recent Graduate)", "Quality Assurance Specialist"),
    ("Applied Microeconomist/Modeler (see How to Apply)", "Applied Microeconomist/Modeler"),
    ("Accountant (Ref: 12345)", "Accountant"),
    ("Sushi Chef Ref#A-1029", "Sushi Chef"),
]

TAILS = [  # after a bar, after "@" (outside brackets), and the tidying
    ("Technician | FOC Monthly Activities", "Technician"),
    ("Welder | Immediate start", "Welder"),
    ("Application Architect (Java | Spring | Hibernate)", "Application Architect (Java | Spring | Hibernate)"),
    ("Retail Assistant @ Queensbay Mall, Penang", "Retail Assistant"),
    ("Sales Assistant (Boutique Assistant @ Social Media)", "Sales Assistant (Boutique Assistant @ Social Media)"),
    ("Human Resource - 6 Months Contract / MNC based in Cyberjaya", "Human Resource - MNC based in Cyberjaya"),
    ("Data Scientist (Senior Manager) @ Financial Industry", "Data Scientist (Manager)"),
    ("Data Transcriber - *Part Time*", "Data Transcriber"),
    ("  Forklift   driver  ", "Forklift driver"),
]

LEFT_ALONE = [
    "Director of IT", "Engineer in Training", "Mobile Apps Developer (Full-stack)", "Pflegefachkraft",
    "Sales Manager Europe", "Auditor (Internal)", "Nursing Assistant (Non Comp-Kerrville)", "F-35 Pilot",
    "Nurse (OR)", "Teacher (Primary 1 to Form 5)", "Secretary (O/A)", "A/V Technician",
    "Software Engineer (C / C++)", "Accounting Analyst (G/L & Interco)", "Restaurant Crew (Central I-City)",
    "Environmental Consultant (Registered with DOE)", "LinkedIn Specialist", "Developer C++",
    "HR Clerk (Sarimas (M) Sdn Bhd)", "Account ( Trainee )",
]

FAMILIES = {"gender": GENDER, "pay": PAY, "shifts": SHIFTS, "contract": CONTRACT, "seniority": SENIORITY,
            "federal_and_reference": FEDERAL_AND_REFERENCE, "tails": TAILS}


@pytest.mark.parametrize(("title", "cleaned"), GENDER)
def test_gender_markers(title: str, cleaned: str) -> None:
    assert clean_title(title) == cleaned


@pytest.mark.parametrize(("title", "cleaned"), PAY)
def test_pay(title: str, cleaned: str) -> None:
    assert clean_title(title) == cleaned


@pytest.mark.parametrize(("title", "cleaned"), SHIFTS)
def test_shifts(title: str, cleaned: str) -> None:
    assert clean_title(title) == cleaned


@pytest.mark.parametrize(("title", "cleaned"), CONTRACT)
def test_contract_work_mode_and_hiring_markers(title: str, cleaned: str) -> None:
    assert clean_title(title) == cleaned


@pytest.mark.parametrize(("title", "cleaned"), SENIORITY)
def test_seniority(title: str, cleaned: str) -> None:
    assert clean_title(title) == cleaned


@pytest.mark.parametrize(("title", "cleaned"), FEDERAL_AND_REFERENCE)
def test_federal_hiring_grade_and_reference_markers(title: str, cleaned: str) -> None:
    assert clean_title(title) == cleaned


@pytest.mark.parametrize(("title", "cleaned"), TAILS)
def test_tails_and_tidying(title: str, cleaned: str) -> None:
    assert clean_title(title) == cleaned


@pytest.mark.parametrize("title", KEPT_ON_PURPOSE + LEFT_ALONE)
def test_real_titles_are_left_alone(title: str) -> None:
    assert clean_title(title) == title


@pytest.mark.parametrize("title", ["Senior", "(m/w/d)", "Full time", "12345", "GS-12", "Direct Hire", "$25/hr", ""])
def test_cleaning_never_empties_a_title(title: str) -> None:
    assert clean_title(title) == " ".join(title.split())


_PIECES = re.compile(r"[\s/()\[\]{},;:|*&+<>~=.!?@#'\"\-–—]+")
_LETTERS = re.compile(r"[^\W\d_]")
_DANGLING = re.compile(r"^[\s\-–—|,:;/&)\]]|[\s\-–—|,:;/&(\[]$")


def fragments(title: str, cleaned: str) -> list[str]:
    """What is wrong with `cleaned` as a cleaning of `title`: a word of one to three letters that was no whole
    word of the title (a piece cut from one: "r" of "/hr", "our" of "hour"), a separator at an edge, brackets
    unbalanced by the cleaning, or no letter left where the title had one."""
    words = {w.casefold() for w in _PIECES.split(title)}
    found = [f"piece {w!r}" for w in _PIECES.split(cleaned)
             if 0 < len(_LETTERS.findall(w)) <= 3 and w.casefold() not in words]
    if _DANGLING.search(cleaned):
        found.append("separator at an edge")
    if title.count("(") == title.count(")") and cleaned.count("(") != cleaned.count(")"):
        found.append("unbalanced brackets")
    if _LETTERS.search(title) and not _LETTERS.search(cleaned):
        found.append("no letter left")
    return found


def test_fragments_finds_the_issue_examples() -> None:
    assert fragments("Accountant - $25/hr", "Accountant - r") == ["piece 'r'"]
    assert fragments("Cook - $18.50/hour", "Cook - our") == ["piece 'our'"]
    assert fragments("Telemarketer (Salary Up t0 RM2150)", "Telemarketer (Salary Up t 2150)") == ["piece 't'"]
    assert fragments("Architect (Java | Spring)", "Architect (Java") == ["unbalanced brackets"]
    assert fragments("Nurse - Nights", "Nurse -") == ["separator at an edge"]
    assert fragments("Accountant - $25/hr", "Accountant") == []


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_no_fragments_in_the_examples(family: str) -> None:
    titles = [t for t, _ in FAMILIES[family]] + (KEPT_ON_PURPOSE + LEFT_ALONE if family == "tails" else [])
    bad = {t: fragments(t, clean_title(t)) for t in titles}
    assert {t: f for t, f in bad.items() if f} == {}


def _jobbert_titles() -> list[str]:
    with open(shared_path("bench", "jobbert", "titles.validation.csv"), encoding="utf-8", newline="") as fh:
        return sorted({row["vacancyTitle"] for row in csv.DictReader(fh)})


def _usajobs_titles() -> list[str]:
    with gzip.open(shared_path("corpus", "usajobs-2017", "ads.jsonl.gz"), "rt", encoding="utf-8") as fh:
        return sorted({json.loads(line)["title"] for line in fh})


@pytest.mark.parametrize("corpus", [_jobbert_titles, _usajobs_titles], ids=["jobbert-validation", "usajobs-2017"])
def test_no_fragments_in_real_titles(corpus) -> None:
    titles = corpus()  # every distinct title (15,463 and 3,764): about 3 s together
    assert len(titles) > 300
    bad = {t: (clean_title(t), f) for t in titles if (f := fragments(t, clean_title(t)))}
    assert bad == {}
