"""workvec: CPU-first ONNX inference for job-title normalization and skill extraction.

    import workvec
    titles = workvec.TitleNormalizer.open()
    titles.normalize(["Sr. Java Dev"], k=5)      # TitleAnswer per title, as `workvec normalize --json`
    skills = workvec.SkillExtractor.open()
    skills.extract(ad_text)                      # ExtractReport, as `workvec extract --json`

Names are imported on first use, so `import workvec` stays cheap (the CLI's --version does not load onnxruntime).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workvec._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "Encoder": "workvec.runtime.encoder",
    "EncoderInfo": "workvec.runtime.encoder",
    "TokenEncoding": "workvec.runtime.encoder",
    "Manifest": "workvec.runtime.manifest",
    "Taxonomy": "workvec.runtime.taxonomy",
    "Concept": "workvec.runtime.taxonomy",
    "LabelIndex": "workvec.runtime.labels",
    "IndexSpec": "workvec.runtime.vector_index",
    "TitleNormalizer": "workvec.runtime.titles",
    "TitleMatch": "workvec.runtime.titles",
    "SkillExtractor": "workvec.runtime.skills",
    "SkillMatch": "workvec.runtime.skill_job",
    "ExtractSettings": "workvec.runtime.settings",
    "NormalizeSettings": "workvec.runtime.settings",
    "merge_sentences": "workvec.runtime.skill_job",
    "ExtractReport": "workvec.runtime.skill_job",
    "SkillJob": "workvec.runtime.skill_job",
    "SentenceOutcome": "workvec.runtime.skill_job",
    "TitleJob": "workvec.runtime.title_job",
    "Related": "workvec.runtime.shaping",
    "SkippedSentence": "workvec.runtime.skill_job",
    "RequirementFilter": "workvec.runtime.requirement",
    "RequirementFilterError": "workvec.runtime.requirement",
    "TitleAnswer": "workvec.runtime.title_answer",
    "clean_title": "workvec.runtime.title_clean",
    "Evidence": "workvec.runtime.evidence",
    "Span": "workvec.runtime.sentences",
    "split_sentences": "workvec.runtime.sentences",
    "WorkvecError": "workvec.errors",
    "BundleError": "workvec.errors",
    "InputError": "workvec.errors",
    "LabelIndexError": "workvec.errors",
    "ProviderError": "workvec.errors",
    "TaxonomyError": "workvec.errors",
}

__all__ = [
    "__version__",
    "Encoder",
    "EncoderInfo",
    "TokenEncoding",
    "Manifest",
    "Taxonomy",
    "Concept",
    "LabelIndex",
    "IndexSpec",
    "TitleNormalizer",
    "TitleMatch",
    "SkillExtractor",
    "SkillMatch",
    "ExtractSettings",
    "NormalizeSettings",
    "SkillJob",
    "SentenceOutcome",
    "TitleJob",
    "merge_sentences",
    "ExtractReport",
    "Related",
    "SkippedSentence",
    "RequirementFilter",
    "RequirementFilterError",
    "TitleAnswer",
    "clean_title",
    "Evidence",
    "Span",
    "split_sentences",
    "WorkvecError",
    "BundleError",
    "InputError",
    "LabelIndexError",
    "ProviderError",
    "TaxonomyError",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from workvec.errors import BundleError, InputError, LabelIndexError, ProviderError, TaxonomyError, WorkvecError
    from workvec.runtime.encoder import Encoder, EncoderInfo, TokenEncoding
    from workvec.runtime.evidence import Evidence
    from workvec.runtime.labels import LabelIndex
    from workvec.runtime.manifest import Manifest
    from workvec.runtime.sentences import Span, split_sentences
    from workvec.runtime.requirement import RequirementFilter, RequirementFilterError
    from workvec.runtime.settings import ExtractSettings, NormalizeSettings
    from workvec.runtime.skill_job import (ExtractReport, SentenceOutcome, SkillJob, SkillMatch, SkippedSentence,
                                           merge_sentences)
    from workvec.runtime.shaping import Related
    from workvec.runtime.skills import SkillExtractor
    from workvec.runtime.title_job import TitleJob
    from workvec.runtime.title_answer import TitleAnswer
    from workvec.runtime.title_clean import clean_title
    from workvec.runtime.taxonomy import Concept, Taxonomy
    from workvec.runtime.titles import TitleMatch, TitleNormalizer
    from workvec.runtime.vector_index import IndexSpec


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return sorted(__all__)
