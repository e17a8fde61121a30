"""Job-title cleaning before encoding: drop what is about the posting, not the occupation.

The rules, in the order `clean_title` applies them (each a named regex below; tests/test_title_clean.py has real
examples of every one):

1. Gender markers, in brackets or bare: "(m/w/d)", "(w/m/d)", "(m/f/d)", "(f/m/x)", "(d/f/m)", "m/w/d", French
   "(H/F)" / "(F/H)", Spanish "(h/m)", Dutch "(m/v)" / "(m/v/x)", Polish "(k/m)"; two to four letters of
   m w f d x h v k (or div, divers, gn) with at least one male letter (m, h), so "(O/A)", "A/V" or "(C / C++)"
   stay. Also "(all genders)", "(alle Geschlechter)", "(gn)", and German gender suffixes
   ("Mitarbeiter*in", "Erzieher/in", "Kaufmann/-frau"), Spanish "Camarero/a".
2. Pay: an amount with a currency ($, EUR, RM...) before or after it, with a lead-in ("Salary", "up to",
   "from", "Gaji"), a second amount of a range ("$20-$25/hr", "£30,000 - £35,000", "RM7K - RM15K"), a rate
   ("/hr", "/hour", "per hour", "p/h", "an hour", "p.a.", "per annum") and "brutto"/"netto"/"gross";
   "Salary: 5K" without a currency; "DOE" / "negotiable" after a pay word or alone in brackets or at an edge.
   A rate unit must end at a word's end ("$25/hr" never leaves "r").
3. Reference numbers ("(Ref: 12345)", "Job ID 99-1"), US federal pay-plan grades ("NF-02", "GS-1340-05/07"),
   terms ("NTE 1 Year"), hiring-authority tails ("- Direct Hire Authority", "DHA") and announcement codes
   ("(JM-DEU-PERM)").
4. Everything after a "|" outside brackets ("Technician | FOC Monthly Activities").
5. Posting markers in brackets or at either end after a separator: contract and work time ("full time",
   "part-time", "temp", "contract", "permanent", "fixed term", "6 months contract", "Teilzeit", "CDI"), work
   mode ("remote", "hybrid", "WFH"), shifts ("nights", "days", "(shift)"), US hiring markers ("Open to U.S.
   Citizens", "Recent Graduate"), "urgent", "vacancy", "Male Only"; a leading "Vacancy for". Anywhere in the
   title: "full-time"/"part-time", "Vollzeit"/"Teilzeit", "6 month contract" and shifts ("night shift",
   "2nd shift", "rotating shifts"). A lone "contract" or "temporary" in the middle stays ("Contract Manager").
6. Seniority: "Sr."/"Jr."/"Snr", "Senior"/"Junior", "Level 2"/"Grade II", "Entry Level"/"Mid-Level", a roman
   level II-VI (or a capital I) before the end or a separator, a trailing one- or two-digit number.
   Kept on purpose: "Lead", "Principal", "Chief", "Head of", "Staff", "Associate", "Trainee", "Apprentice"
   ("Lead Plumber", "Team Lead" lead others: a different role, and ESCO labels say so: "lead machinist",
   "lead practice nurse"); "Senior"/"Junior" only rank within one occupation, and dropping them raised
   MRR on JobBERT validation (+0.0035).
7. A location tail after "@" outside brackets ("Retail Assistant @ Queensbay Mall"); other locations stay
   (no gazetteer).
8. Tidying: brackets left empty or with only separators, separators just inside brackets, doubled
   separators, separators and spaces at either end.

What is left must still hold a letter; otherwise the whitespace-normalised original is returned (cleaning never
empties a title). Every rule ends and starts at a word's edge: a cleaning leaves no piece of a word.
The choice of rules was measured on the JobBERT validation titles (benchmarks/quality/tune_titles.py) and the
USAJOBS corpus titles (benchmarks/quality/clean_corpus_titles.py). The original title is always reported next
to the cleaned one.
"""

from __future__ import annotations

import re

__all__ = ["clean_title"]

_I = re.IGNORECASE
_NOT_LETTER_BEFORE, _NOT_LETTER_AFTER = r"(?<![^\W\d_])", r"(?![^\W\d_])"

# 1. gender markers
_GENDER_LETTERS = {"m", "w", "f", "d", "x", "h", "v", "k", "div", "divers", "diverse", "gn"}
_GENDER_TOKEN = r"(?:[a-z]|div|divers|diverse|gn)"
_GENDER_BRACKETED = re.compile(rf"[(\[]\s*{_GENDER_TOKEN}(?:\s*[/|,*]\s*{_GENDER_TOKEN}){{1,3}}\s*[)\]]\*?", _I)
_GENDER_BARE = re.compile(rf"(?<![\w/]){_GENDER_TOKEN}(?:\s*/\s*{_GENDER_TOKEN}){{1,3}}(?![\w/])", _I)
_GENDER_WORDS = re.compile(r"[(\[]\s*(?:all genders?|alle geschlechter|gender[- ]?neutral|genderneutral|any gender|"
                           r"gn\*?|w\*m\*d)\s*[)\]]", _I)
_GENDER_SUFFIX = re.compile(r"(?<=[a-zäöüß])(?:[*:]|/-?)in(?:nen)?(?=[\s(),|]|$)|(?<=[a-zäöüß])/-?(?:frau|mann)\b"
                            r"|(?<=[a-z]o)(?:/a|\(a\))(?=[\s(),|]|$)")

# 2. pay
_CURRENCY = (r"(?:[$€£¥₹]|" + _NOT_LETTER_BEFORE
             + r"(?:rm|usd|eur|euros?|gbp|aud|cad|sgd|chf|inr|myr)" + _NOT_LETTER_AFTER + r")")
_AMOUNT = r"\d(?:[\d,.]*\d)?(?:\s?k" + _NOT_LETTER_AFTER + r")?"
_LONE_AMOUNT = r"(?<![\w.,])" + _AMOUNT  # an amount that starts a word: "45.000 €", not the "0" of "t0 RM2150"
_MONEY = rf"(?:{_CURRENCY}\s?{_AMOUNT}|{_LONE_AMOUNT}\s?(?:[$€£]|\b(?:eur|euros?)\b))\*?"
_UNIT = r"(?:hours?|hrs?|h|hourly|days?|weeks?|wk|months?|mths?|mo|years?|yrs?|annum|std|stunde|monat|jahr)"
_RATE = (rf"(?:\s*/\s*|\s*\b(?:per|an?|pro)\s+){_UNIT}{_NOT_LETTER_AFTER}|\s*(?<![^\W\d_])p\.?\s?/?\s?(?:h|hr|a)\b\.?"
         r"|\s+(?:hourly|brutto|netto|gross|net)\b"
         r"|\s*(?:\+|\bplus\b)\s*(?:commission|bonus(?:es)?|benefits|ote|super|overtime|tips|allowances?)\b")
_PAY_WORD = r"\b(?:salary|pay|wage|rate|gaji(?:\s+kasar)?|basic|gehalt|sueldo|salaire|ote)\b"
_PAY_LEAD = rf"(?:{_PAY_WORD}\s*:?\s*)?(?:\b(?:up\s*to|upto|from|starting(?:\s+at|\s+from)?|min(?:imum)?|max(?:imum)?" \
            r"|around|approx\.?|bis zu|ab)\b\s*)?[<>~+]?\s*"
_RANGE_TO = r"\s*(?:-|–|—|\bto\b|\bbis\b)\s*"
_PAY = re.compile(rf"{_PAY_LEAD}(?:{_LONE_AMOUNT}{_RANGE_TO})?{_MONEY}(?:{_RANGE_TO}(?:{_MONEY}|{_AMOUNT}))?(?:{_RATE})*", _I)
_PAY_WITHOUT_CURRENCY = re.compile(r"\b(?:salary|gaji|gehalt|ote)\b\s*:?\s*(?:up\s*to\s*)?"
                                   rf"{_AMOUNT}(?:{_RANGE_TO}{_AMOUNT})?(?:{_RATE})*", _I)  # "Salary Up to 5K"
_PAY_NOTE = re.compile(rf"{_PAY_WORD}\s*:?\s*(?:doe|d\.o\.e\.?|depending on experience|negotiable|competitive)\b", _I)

# 3. references, US federal grades, terms, hiring authorities, announcement codes
_REFERENCE = re.compile(r"[(\[]\s*(?:ref(?:erence)?|job\s*id|req(?:uisition)?)(?![^\W\d_])\.?\s*(?:no\.?|#|:)?\s*"
                        r"[\w-]*\d[\w-]*\s*[)\]]|\b(?:ref(?:erence)?|job\s*id|req(?:uisition)?)(?![^\W\d_])\.?\s*"
                        r"(?:no\.?|#|:)?\s*[\w-]*\d[\w-]*", _I)
# US federal pay plan and grade (OPM codes), upper case only: "NF-02", "GS-1340-05/07", "WG-10"
# and NIST pay bands "ZP-0810-II/III", with a "(GS-11/12 equivalent)" note
_GRADE = re.compile(r"\b(?:GS|GG|GL|GM|GP|GR|WG|WL|WS|NA|NL|NS|NF|NH|NJ|NK|VN|VM|SV|AD|ES|CY)"
                    r"-\d{1,4}(?:[-/]\d{1,4})*\b(?:\s+(?i:equivalent)\b)?|\bZ[APST]-\d{4}-[IV]+(?:/[IV]+)*\b")
_GRADE_EQUIVALENT = re.compile(r"[(\[]\s*GS\s*-?\s*\d[\d/ -]*\s+equivalent\s*[)\]]", _I)  # "(GS- 9/10 Equivalent)"
_TERM = re.compile(r"\b(?:nte|not[- ]to[- ]exceed)\s+\d+\s*(?:days?|months?|mos?|years?|yrs?)\b", _I)
_HIRING_TAIL = re.compile(r"\s+(?:DHA|(?i:direct hire(?: authority)?|open continuous(?:ly)?))\s*$")
_CODE_PAREN = re.compile(r"[(\[]\s*[A-Z0-9]{2,}(?:-[A-Z0-9]{2,}){2,}\s*[)\]]")  # announcement codes: (JM-DEU-PERM)

# 4. after a bar, unless the bar is inside brackets ("(Java | Spring)")
_AFTER_BAR = re.compile(r"\s*\|(?![^()\[\]]*[)\]]).*$")

# 5. posting markers: contract, work time and mode, shifts, hiring
_SHIFT_KIND = (r"(?:night|day|early|late|evening|weekend|rotating|rotational|split|double|swing|graveyard|overnight"
               r"|morning|afternoon|1st|2nd|3rd|first|second|third|24/7|(?:8|10|12)[- ]?hours?)")
_SHIFTS = re.compile(rf"\b{_SHIFT_KIND}(?:\s*/\s*{_SHIFT_KIND})?[- ]?shifts?\b", _I)
_DURATION = r"\d+(?:\s*-\s*\d+)?[- ]?(?:months?|mths?|weeks?|years?|yrs?)"
_WORK_TIME = r"(?:(?:full|part)[- ]?time|vollzeit|teilzeit)"
_CONTRACT_ANYWHERE = re.compile(rf"(\s*/\s*)?\b(?:(?:in\s+)?(?:(?:voll|teil)-\s*(?:oder|und|/)\s*)?{_WORK_TIME}"
                                rf"(?:\s*(?:[/&]|\band\b|\bor\b|\bund\b|\boder\b)\s*{_WORK_TIME})*"
                                rf"(?:\s+(?:positions?|roles?|basis))?"
                                rf"|{_DURATION}[- ]?contract|contract\s+{_DURATION})\b(\s*/\s*)?", _I)
_MARKER_WORDS = (
    r"(?:night|day|early|late|evening|weekend|rotating|rotational|split|double|12[- ]?hour|8[- ]?hour)\s*shifts?"
    r"|nights|days|weekends|shifts?|shift work|shift rotation|"
    r"(?:full|part)[- ]?time|ft|pt|contract(?:or)?(?:\s+\d+\s+\w+)?|(?:on )?contract basis|temporary|temp|permanent"
    rf"|perm|fix(?:ed)?[- ]term(?: contract)?|{_DURATION}(?: contract)?|temp[- ]to[- ]perm|contract[- ]to[- ]hire|"
    r"freelance|seasonal|casual|locum|cdi|cdd|befristet|unbefristet|festanstellung|temps (?:plein|partiel)|"
    r"remote|hybrid|on[- ]?site|home[- ]?office|work from home|wfh|immediate(?: start)?|urgent(?:ly)?(?: hiring)?|"
    r"hiring|vacancy|job|fresh graduates?(?: (?:are )?welcome(?:d)?)?|"
    r"male only|female only|(?-i:DOE)|negotiable|"
    r"direct[- ]hire(?: authority)?|dha|dh(?:/nc)?|de/cr|jv|fy\s?\d{2}|open[- ]continuous(?:ly)?|"
    r"open to (?:all |the )?(?:u\.?s\.? |us )?(?:citizens|public|status candidates)|status candidates|"
    r"merit promotion|delegated examining|recent graduates?|see how to apply|multiple (?:vacancies|positions)"
)
_MARKER_PAREN = re.compile(rf"[(\[]\s*(?:{_MARKER_WORDS})(?:\s*[,/&]\s*(?:{_MARKER_WORDS}))*[\s,/&]*[)\]]", _I)
_MARKER_EDGE = re.compile(rf"(?:^\s*(?:{_MARKER_WORDS})\s*[-:|–—,]\s*|\s*[-|–—,:]\s*(?:{_MARKER_WORDS})\s*$)", _I)
_MARKER_PREFIX = re.compile(r"^\s*(?:vacancy|urgent(?:ly)?|hiring|job opening)\s+(?:for\s+)?", _I)

# 6. seniority
_SENIORITY = re.compile(
    r"\b(?:entry|mid|junior|senior)[- ]level\b(?:\s*(?:[0-9]+|i{1,3}|iv|v)\b)?|"
    r"\b(?:level|lvl|grade)\s*(?:[0-9]+|i{1,3}|iv|v)\b|\b(?:sr|jr|snr|jnr)\b\.?|\b(?:senior|junior)\b|"
    r"(?<![\w-])(?-i:I{1,3}|IV|V|VI)(?:\s*[/&,]\s*(?-i:I{1,3}|IV|V|VI))+\b|"  # "I/II/III", "II, III, IV"
    r"\b(?:ii|iii|iv|v|vi)\b\.?(?=\s*(?:$|[-–,|/()]))|(?<=[^\W\d_] )(?-i:I)\b(?=\s*(?:$|[,|/()]|[-–](?![^\W\d_])))",
    _I,
)
_TRAILING_NUMBER = re.compile(r"(?<=[^\W\d_])\s+[0-9]{1,2}\s*$")

# 7. a location after "@", unless inside brackets
_LOCATION_TAIL = re.compile(r"\s*@\s*[^-|–—()\[\]]*$")

# 8. tidying
_SPACES = re.compile(r"\s+")
_EMPHASIS = re.compile(r"(?<![\w*])\*+([^*]+?)\*+(?![\w*])")  # "*Part Time TEMPORARY*" -> its words
_EMPTY_BRACKETS = re.compile(r"[(\[][\s,;:/&|*-]*(?:[,\s]\s*(?:or|and)\s+)?[\s,;:/&|*-]*[)\]]", _I)
_BRACKET_INNER_EDGES = re.compile(r"(?<=[(\[])\s*[,;:/&|-][\s,;:/&|-]*|[\s,;:/&|-]*[,;:/&|-]\s*(?=[)\]])")
_DOUBLE_SEPARATOR = re.compile(r"\s([-–—/|])(?:\s*[-–—/|])+\s")  # "Nurse - / MNC" -> "Nurse - MNC"
_DOUBLE_COMMA = re.compile(r"(?:\s*,){2,}")  # "(Network),, BEA" once a grade went
_DASH_BEFORE_BRACKET = re.compile(r"\s[-–—]\s*(?=[(\[])")  # "Lecturer - (Finance)" once "Part Time" went
_SPACE_IN_BRACKETS = re.compile(r"(?<=[(\[])\s+|\s+(?=[)\]])")
_EDGES = re.compile(r"^[\s\-–—|,:;/*&]+|[\s\-–—|,:;/*&(]+$")
_LETTER = re.compile(r"[^\W\d_]")


def _gender_marker(match: re.Match) -> str:
    """Drop a bracketed or bare run of letters when it reads as a gender marker, else keep it."""
    letters = [t.lower() for t in re.findall(r"[^\W\d_]+", match.group(0))]
    is_marker = (all(t in _GENDER_LETTERS for t in letters) and len(set(letters)) == len(letters)
                 and bool({"m", "h"} & set(letters)))
    return " " if is_marker else match.group(0)


def _list_item(match: re.Match) -> str:
    """A removed item of a "/" list takes one slash with it: "Cashier/Full-time Cook" -> "Cashier Cook"."""
    return " / " if match.group(1) and match.group(2) else " "


def _tidy_brackets(text: str) -> str:
    """"( / Fresh Graduate)" -> "(Fresh Graduate)", "(, , or )" -> " ": an "(or)" left by the first step stays."""
    return _EMPTY_BRACKETS.sub(" ", _BRACKET_INNER_EDGES.sub("", _EMPTY_BRACKETS.sub(" ", text)))


def clean_title(title: str) -> str:
    """The title without gender, pay, reference, posting, seniority and location markers (rules above).

    Returns the whitespace-normalised original when cleaning would leave no letter."""
    text = _SPACES.sub(" ", title).strip()
    out = _GENDER_BRACKETED.sub(_gender_marker, _EMPHASIS.sub(r"\1", text))
    out = _GENDER_BARE.sub(_gender_marker, out)
    out = _GENDER_SUFFIX.sub("", _GENDER_WORDS.sub(" ", out))
    for pattern in (_PAY_NOTE, _PAY, _PAY_WITHOUT_CURRENCY, _REFERENCE, _GRADE_EQUIVALENT, _GRADE, _TERM):
        out = pattern.sub(" ", out)
    out = _HIRING_TAIL.sub("", out)
    out = _CODE_PAREN.sub(" ", out)
    out = _AFTER_BAR.sub("", out)
    out = _tidy_brackets(_SPACES.sub(" ", out))
    out = _CONTRACT_ANYWHERE.sub(_list_item, out)
    out = _tidy_brackets(_SPACES.sub(" ", out))
    out = _MARKER_PAREN.sub(" ", out)
    out = _MARKER_PREFIX.sub("", out)
    for _ in range(4):  # "Contract - Nurse - Nights", "Physician - JV - FY17 - DH/NC"
        out = _MARKER_EDGE.sub(" ", out)
    out = _SHIFTS.sub(" ", out)
    out = _SENIORITY.sub(" ", out)
    out = _TRAILING_NUMBER.sub("", out)
    out = _LOCATION_TAIL.sub("", out)
    out = _tidy_brackets(out)
    out = _EDGES.sub("", _SPACES.sub(" ", out).replace(" ,", ",")).strip()
    if out != text:  # a rule fired: tidy what it left ("( Executive)" -> "(Executive)")
        out = _DASH_BEFORE_BRACKET.sub(" ", _DOUBLE_SEPARATOR.sub(lambda m: f" {m.group(1)} ", out))
        out = _DOUBLE_COMMA.sub(",", out)
        out = _EDGES.sub("", _SPACE_IN_BRACKETS.sub("", out))
    return out if _LETTER.search(out) else text
