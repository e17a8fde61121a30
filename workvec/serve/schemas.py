"""Request and response bodies (pydantic: wrong types and malformed JSON become 422 with the field named)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ExtractRequest", "ExtractResponse", "NormalizeRequest", "NormalizeResponse"]

_STRICT = ConfigDict(extra="forbid", strict=True)


class NormalizeRequest(BaseModel):
    """Titles to map to occupations, with the settings `workvec normalize` takes (checked by the runtime's
    NormalizeSettings, so a bad value gets the CLI's message)."""

    model_config = _STRICT
    titles: list[str] = Field(description="job titles, one result each, in order")
    k: int = Field(5, description="concepts per title (`--k`)")
    clean: bool = Field(True, description="drop gender, seniority, shift, contract and pay markers before encoding"
                                          " (as `workvec normalize`; false: `--no-clean`)")
    taxonomy: str | None = Field(None, description="must name the loaded titles taxonomy when given")
    language_guard: bool = Field(True, description="a title in a language the bundle does not serve gets no_match"
                                                   " with its language (false: `--no-language-guard`)")


class TitleResult(BaseModel):
    query: str
    cleaned: str = Field(description="the text that was encoded")
    no_match: bool = Field(description="true when the best candidate scores below the model's calibrated floor")
    matches: list[dict[str, Any]] = Field(description="TitleMatch objects, as `workvec normalize --json` prints")
    tied_with: list[str] = Field(description="ids of concepts whose score ties the first match's (ordered by meaning)")
    language: str | None = Field(description="the title's language when the language guard answered no_match")


class NormalizeResponse(BaseModel):
    results: list[TitleResult]


class ExtractRequest(BaseModel):
    """Job-ad texts to find skills in, with the settings `workvec extract` takes (checked by the runtime's
    ExtractSettings, so a bad value gets the CLI's message)."""

    model_config = _STRICT
    texts: list[str] = Field(description="job-ad texts, one result each, in order")
    threshold: float | None = Field(None, description="minimum ConTeXT-match score (`--threshold`; default:"
                                                      " the bundle's calibrated one)")
    k: int | None = Field(None, description="cap on skills per sentence (`--k`; default: none, the threshold decides)")
    top_k: int | None = Field(None, description="older name of `k`")
    requirement_filter: bool = Field(True, description="skip sentences that state no requirement and list them in"
                                                       " `skipped` (false: `--no-requirement-filter`)")
    exact: bool | None = Field(None, description="score every label even with an HNSW index (`--exact`)")
    taxonomy: str | None = Field(None, description="must name the loaded skills taxonomy when given")
    language_guard: bool = Field(True, description="skip sentences in a language the bundle does not serve"
                                                   " (false: `--no-language-guard`)")


class SkillResult(BaseModel):
    skills: list[dict[str, Any]] = Field(description="SkillMatch objects, as `workvec extract --json` prints")
    skipped: list[dict[str, Any]] = Field(description="sentences the requirement filter skipped")
    truncated: bool = Field(description="true when the text was over 1 MB and read up to its last full sentence")


class ExtractResponse(BaseModel):
    results: list[SkillResult]
