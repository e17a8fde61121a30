"""Option values shared by the CLI and the run plan (no heavy imports: `workvec --help` must not need pyarrow)."""

DEFAULT_SHARD_ROWS = 500
ENGINES = ("local", "ray")
