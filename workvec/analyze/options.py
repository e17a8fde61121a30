"""Option values shared by the CLI and the run plan (no heavy imports: `workvec --help` must not need pyarrow)."""

DEFAULT_SHARD_ROWS = 500
ENGINES = ("local", "ray")
# The library's defaults (workvec.runtime.titles / skills), repeated here so the CLI stays import-light.
DEFAULT_TITLES_TAXONOMY = "esco-occupations"
DEFAULT_SKILLS_TAXONOMY = "esco-skills"
DEFAULT_THRESHOLD: float | None = None  # None: the skill bundle's calibrated threshold
# Corpus boilerplate (workvec.analyze.boilerplate): a passage of BOILERPLATE_WORDS words in at least
# BOILERPLATE_ADS ads from at least BOILERPLATE_SOURCES distinct (employer, occupation) pairs.
DEFAULT_BOILERPLATE_ADS = 10
DEFAULT_BOILERPLATE_SOURCES = 3
BOILERPLATE_WORDS = 8
