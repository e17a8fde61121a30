"""Per-request settings: one frozen value per task that every door (CLI, Python, HTTP, corpus job) passes the
same way, and whose checks give every door the same message for the same bad input.

`None` fields mean "the matcher's own default" (its calibrated threshold, its loaded taxonomy); a matcher
resolves them (`TitleNormalizer.settings_for`, `SkillExtractor.settings_for`) before planning, so a resolved
value is complete and can key a batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from workvec.errors import InputError

__all__ = ["DEFAULT_THRESHOLD", "ExtractSettings", "NormalizeSettings"]

# Chosen on HOUSE+TECH validation with all-MiniLM-L6-v2 int8, requirement filter on, near-duplicates grouped,
# no cap (benchmarks/quality/tune_extract.py; benchmarks/README.md "Answers"): 0.625 reads P 0.338 / R 0.172 /
# F1 0.228 with a boilerplate FP rate of 0.228 on SkillSpan dev, against P 0.211 / R 0.290 / FP 0.634 for the
# old 0.60 + top-5 without filter. 0.60 keeps more recall (P 0.254 / R 0.206), 0.65 reaches P 0.41 (R 0.122).
# Other models want their own calibration; bundles may carry their own (`skill_threshold` in the manifest).
DEFAULT_THRESHOLD = 0.625


def _positive_int(name: str, value, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InputError(f"{name} must be a positive integer (got {value!r})")


def _flag(name: str, value) -> None:
    if not isinstance(value, bool):
        raise InputError(f"{name} must be true or false (got {value!r})")


def _taxonomy(value) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise InputError(f"taxonomy must be the name of the loaded taxonomy (got {value!r})")


@dataclass(frozen=True)
class NormalizeSettings:
    """How titles are answered: `k` concepts per title; `clean` drops gender, seniority, shift, contract and pay
    markers first (workvec.runtime.title_clean); `taxonomy`, when given, must name the normalizer's;
    `language_guard` answers titles in a language the bundle does not serve with no_match (workvec.runtime.language)."""

    k: int = 5
    clean: bool = True
    taxonomy: str | None = None
    language_guard: bool = True  # a title in a language the bundle does not serve: no_match, language named

    def __post_init__(self) -> None:
        _positive_int("k", self.k)
        _flag("clean", self.clean)
        _flag("language_guard", self.language_guard)
        _taxonomy(self.taxonomy)


@dataclass(frozen=True)
class ExtractSettings:
    """How skills are found: every concept at or above `threshold` (None: the extractor's calibrated one), at
    most `k` per sentence (None: no cap); sentences that state no requirement skipped when `requirement_filter`
    (and the extractor has a filter for its model); `taxonomy`, when given, must name the extractor's;
    `language_guard` skips sentences in a language the bundle does not serve (workvec.runtime.language)."""

    threshold: float | None = None
    k: int | None = None
    requirement_filter: bool = True
    # None: exact when the index is exact (below AUTO_EXACT_BELOW labels), HNSW candidates otherwise. Exact
    # mode bounds every label by its best token cosine (one matrix product per chunk of sentences) and scores
    # only the labels that can reach the threshold: the same matches as scoring every label.
    exact: bool | None = None
    taxonomy: str | None = None
    language_guard: bool = True  # a sentence in a language the bundle does not serve: skipped, language named
    # Candidates: the token_k nearest labels of each token plus the sentence_k nearest of the mean token,
    # searched with HNSW at `ef`. Share of HOUSE / TECH validation sentences whose exact top-10 survives
    # (all-MiniLM-L6-v2 int8): token_k=8, ef=128: 93.5% / 91.1%; 16, 128: 98.7% / 99.0%; 24, 128:
    # 98.7% / 100% (the HOUSE miss is an HNSW miss, fixed by ef); 16, 192: 100% / 99.0%;
    # 24, 192: 100% / 100%. tests/test_skills_minilm.py asserts >= 99%.
    token_k: int = 24
    sentence_k: int = 64
    ef: int = 192

    def __post_init__(self) -> None:
        t = self.threshold
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t <= 1):
            raise InputError(f"threshold must be within [0, 1] (got {t!r}); ConTeXT-match scores are cosines")
        _positive_int("k", self.k, optional=True)
        _flag("requirement_filter", self.requirement_filter)
        _flag("language_guard", self.language_guard)
        if self.exact is not None:
            _flag("exact", self.exact)
        _taxonomy(self.taxonomy)
        for name in ("token_k", "sentence_k", "ef"):
            _positive_int(name, getattr(self, name))
