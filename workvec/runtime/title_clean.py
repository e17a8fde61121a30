"""Job-title cleaning before encoding: drop what is about the posting, not the occupation.

Removed: gender/format markers ("(m/w/d)", "(f/m/x)", "m/f/d", "(all genders)"), seniority and level markers
("Sr.", "Jr.", "Senior", "Junior", "II", "Level 2", a trailing grade number), shift, contract and work-mode
markers ("night shift", "part-time", "(contract)", "remote", "hybrid"), public-sector hiring markers ("- Direct
Hire Authority", "(Open Continuous)", "NTE 1 Year", "- JV - FY17 - DH/NC") and US federal pay-plan grades
("NF-02", "GS-1340-05/07"), reference numbers, salaries ("RM1000*", "$25/hr") and location tails after "@"
(other locations are kept: no gazetteer). What is left must still hold a letter; otherwise the original title
is kept (cleaning never empties a title).

The choice of rules was measured on the JobBERT validation titles (benchmarks/quality/tune_titles.py): each rule is
kept only where it did not lower MRR there. The original title is always reported next to the cleaned one.
"""

from __future__ import annotations

import re

__all__ = ["clean_title"]

_I = re.IGNORECASE
_G = r"(?:m|w|f|d|x|h|v|i|div|divers|diverse|a|gn\*?)"
_GENDER = [
    re.compile(rf"[(\[]\s*{_G}(?:\s*[/|,*]\s*{_G}){{1,3}}\s*[)\]]", _I),  # (m/w/d) [f/m/x] (h/f)
    re.compile(rf"(?<![\w/]){_G}\s*/\s*{_G}(?:\s*/\s*{_G})?(?![\w/])", _I),  # m/f/d
    re.compile(r"[(\[]\s*(?:all genders?|gender[- ]?neutral|genderneutral|any gender|gn\*?|w\*m\*d)\s*[)\]]", _I),
]
_SENIORITY = re.compile(
    r"\b(?:sr|jr|snr|jnr)\b\.?|\b(?:senior|junior)\b|"
    r"\b(?:level|lvl|grade)\s*(?:[0-9]+|i{1,3}|iv|v)\b|\b(?:entry|mid|junior|senior)[- ]level\b|"
    r"\b(?:ii|iii|iv|v|vi)\b\.?(?=\s*(?:$|[-,|/()]))",
    _I,
)
_TRAILING_NUMBER = re.compile(r"(?<=[A-Za-z])\s+[0-9]{1,2}\s*$")
_MARKER_WORDS = (
    r"(?:night|day|early|late|evening|weekend|rotating|rotational|split|double|12[- ]?hour|8[- ]?hour)\s*shifts?"
    r"|nights|weekends|shift work|"
    r"(?:full|part)[- ]?time|ft|pt|contract(?:or)?(?:\s+\d+\s+\w+)?|temporary|temp|permanent|fixed[- ]term|"
    r"freelance|seasonal|casual|locum|"
    r"remote|hybrid|on[- ]?site|home[- ]?office|work from home|wfh|immediate(?: start)?|urgent(?:ly hiring)?|"
    r"hiring|vacancy|job|fresh graduates?(?: (?:are )?welcome(?:d)?)?|"
    r"male only|female only|"
    r"direct[- ]hire(?: authority)?|dha|dh(?:/nc)?|de/cr|jv|fy\s?\d{2}|open[- ]continuous(?:ly)?|"
    r"open to (?:all |the )?(?:u\.?s\.? |us )?(?:citizens|public|status candidates)|status candidates|"
    r"merit promotion|delegated examining|recent graduates?|see how to apply|multiple (?:vacancies|positions)"
)
_MARKER_PAREN = re.compile(rf"[(\[]\s*(?:{_MARKER_WORDS})(?:\s*[,/&]\s*(?:{_MARKER_WORDS}))*\s*[)\]]", _I)
_MARKER_EDGE = re.compile(rf"(?:^\s*(?:{_MARKER_WORDS})\s*[-:|–—,]\s*|\s*[-|–—,:]\s*(?:{_MARKER_WORDS})\s*$)", _I)
_MARKER_PREFIX = re.compile(r"^\s*(?:vacancy|urgent(?:ly)?|hiring|job opening)\s+(?:for\s+)?", _I)
_REFERENCE = re.compile(r"[(\[]?\s*(?:ref(?:erence)?|job\s*id|req(?:uisition)?)\.?\s*(?:no\.?|#|:)?\s*[\w-]*\d[\w-]*\s*[)\]]?", _I)
_SALARY = re.compile(r"(?:rm|\$|€|£|usd|eur|gbp)\s?[0-9][0-9.,kK]*\*?(?:\s*(?:/|per)\s*(?:h|hr|hour|month|year|yr))?"
                     r"(?:\s*-\s*(?:rm|\$|€|£)?\s?[0-9][0-9.,kK]*\*?)?", _I)
# US federal pay plan and grade (OPM codes), upper case only: "NF-02", "GS-1340-05/07", "WG-10"
_GRADE = re.compile(r"\b(?:GS|GG|GL|GM|GP|GR|WG|WL|WS|NA|NL|NS|NF|NH|NJ|NK|VN|VM|SV|AD|ES|CY)"
                    r"-\d{1,4}(?:[-/]\d{1,4})*\b")
_TERM = re.compile(r"\b(?:nte|not[- ]to[- ]exceed)\s+\d+\s*(?:days?|months?|mos?|years?|yrs?)\b", _I)
_HIRING_TAIL = re.compile(r"\s+(?:DHA|(?i:direct hire(?: authority)?|open continuous(?:ly)?))\s*$")
_CODE_PAREN = re.compile(r"[(\[]\s*[A-Z0-9]{2,}(?:-[A-Z0-9]{2,}){2,}\s*[)\]]")  # announcement codes: (JM-DEU-PERM)
_DOUBLE_SEPARATOR = re.compile(r"\s[-–—](?:\s*[-–—])+\s")
_LOCATION_TAIL = re.compile(r"\s*@\s*[^-|–—(]*$")
_SHIFTS = re.compile(r"\b(?:night|day|early|late|evening|weekend|rotating|rotational)\s*shifts?\b", _I)
_AFTER_BAR = re.compile(r"\s*\|.*$")
_SPACES = re.compile(r"\s+")
_EDGES = re.compile(r"^[\s\-–—|,:/*&]+|[\s\-–—|,:/*&(]+$")
# brackets left empty by the rules above: "()", "( / )", "(, , or )"
_EMPTY_BRACKETS = re.compile(r"[(\[][\s,;/&|-]*(?:[,\s]\s*(?:or|and)\s+)?[\s,;/&|-]*[)\]]", _I)


def clean_title(title: str) -> str:
    """The title without gender, seniority, shift, contract, salary, reference and location markers.

    Returns the whitespace-normalised original when cleaning would leave no letter."""
    text = _SPACES.sub(" ", title).strip()
    out = text
    for pattern in _GENDER:
        out = pattern.sub(" ", out)
    out = _REFERENCE.sub(" ", out)
    out = _SALARY.sub(" ", out)
    out = _GRADE.sub(" ", out)
    out = _TERM.sub(" ", out)
    out = _HIRING_TAIL.sub("", out)
    out = _CODE_PAREN.sub(" ", out)
    out = _AFTER_BAR.sub("", out)
    out = _MARKER_PAREN.sub(" ", out)
    out = _MARKER_PREFIX.sub("", out)
    for _ in range(4):  # "Contract - Nurse - Nights", "Physician - JV - FY17 - DH/NC"
        out = _MARKER_EDGE.sub(" ", out)
    out = _SHIFTS.sub(" ", out)
    out = _SENIORITY.sub(" ", out)
    out = _TRAILING_NUMBER.sub("", out)
    out = _LOCATION_TAIL.sub("", out)
    out = _EMPTY_BRACKETS.sub(" ", out)
    out = _DOUBLE_SEPARATOR.sub(" - ", out)
    out = _EDGES.sub("", _SPACES.sub(" ", out).replace(" ,", ",")).strip()
    return out if re.search(r"[^\W\d_]", out) else text
