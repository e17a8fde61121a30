"""Request and response bodies (pydantic: wrong types and malformed JSON become 422 with the field named)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ExtractRequest", "ExtractResponse", "NormalizeRequest", "NormalizeResponse"]

_STRICT = ConfigDict(extra="forbid", strict=True)


class NormalizeRequest(BaseModel):
    """Titles to map to occupations."""

    model_config = _STRICT
    titles: list[str] = Field(description="job titles, one result each, in order")
    k: int = Field(5, ge=1, le=100, description="concepts per title")
    clean: bool = Field(True, description="drop gender, seniority, shift and contract markers before encoding"
                                          " (as `workvec normalize`; false: `--no-clean`)")
    taxonomy: str | None = Field(None, description="must name the loaded titles taxonomy when given")


class TitleResult(BaseModel):
    query: str
    cleaned: str = Field(description="the text that was encoded")
    no_match: bool = Field(description="true when the best candidate scores below the model's calibrated floor")
    matches: list[dict[str, Any]] = Field(description="TitleMatch objects, as `workvec normalize --json` prints")


class NormalizeResponse(BaseModel):
    results: list[TitleResult]


class ExtractRequest(BaseModel):
    """Job-ad texts to find skills in."""

    model_config = _STRICT
    texts: list[str] = Field(description="job-ad texts, one result each, in order")
    threshold: float | None = Field(None, ge=0.0, le=1.0, description="minimum ConTeXT-match score (default: calibrated)")
    top_k: int = Field(5, ge=1, le=100, description="skills kept per sentence")
    taxonomy: str | None = Field(None, description="must name the loaded skills taxonomy when given")


class SkillResult(BaseModel):
    skills: list[dict[str, Any]] = Field(description="SkillMatch objects, as `workvec extract --json` prints")


class ExtractResponse(BaseModel):
    results: list[SkillResult]
