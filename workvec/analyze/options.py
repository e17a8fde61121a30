"""Option values shared by the CLI and the run plan (no heavy imports: `workvec --help` must not need pyarrow)."""

DEFAULT_SHARD_ROWS = 500
ENGINES = ("local", "ray")
# The library's defaults (workvec.runtime.titles / skills), repeated here so the CLI stays import-light.
DEFAULT_TITLES_TAXONOMY = "esco-occupations"
DEFAULT_SKILLS_TAXONOMY = "esco-skills"
DEFAULT_THRESHOLD: float | None = None  # None: the skill bundle's calibrated threshold
