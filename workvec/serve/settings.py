"""`ServeSettings`: what `workvec serve` loads and the limits it enforces (one frozen value, checked once)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from workvec.errors import InputError

__all__ = ["ServeSettings"]


@dataclass(frozen=True)
class ServeSettings:
    """Bundles, taxonomies and limits of one service. `None` bundles mean the default bundle of that kind;
    `load_titles` / `load_skills` switch a side off entirely."""

    title_bundle: str | None = None
    skill_bundle: str | None = None
    titles_taxonomy: str = "esco-occupations"  # as `workvec normalize`
    skills_taxonomy: str = "esco-skills"
    load_titles: bool = True
    load_skills: bool = True
    index_dir: str | None = None
    precision: str = "auto"
    threads: int | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    max_batch_tokens: int = 8192  # padded tokens (rows x longest text) in one inference batch
    max_wait_ms: float = 5.0  # how long the first text of a batch waits for company
    max_queue: int = 1024  # texts waiting for inference; past it: 429 (the hard cap)
    max_queue_ms: float = 5000.0  # expected wait (queued tokens / measured rate) past this: 429 at admission
    max_request_bytes: int = 1_000_000
    max_texts: int = 256  # texts (titles, ads, inputs) in one request
    request_timeout_s: float = 30.0  # a request still waiting after this: 503
    batching: bool = True  # False: one request per batch (for comparisons)
    api_key_env: str | None = None
    graceful_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        positive = ("max_batch_tokens", "max_queue", "max_queue_ms", "max_request_bytes", "max_texts", "request_timeout_s",
                    "graceful_timeout_s")
        for name in positive:
            if getattr(self, name) <= 0:
                raise InputError(f"--{name.replace('_', '-')} must be positive (got {getattr(self, name)})")
        if self.max_wait_ms < 0:
            raise InputError(f"--max-wait-ms must be >= 0 (got {self.max_wait_ms})")
        if self.threads is not None and self.threads < 1:
            raise InputError(f"--threads must be >= 1 (got {self.threads}); omit it for the default")
        if not 0 <= self.port <= 65535:
            raise InputError(f"--port must be within 0..65535 (got {self.port})")
        if not (self.load_titles or self.load_skills):
            raise InputError("nothing to serve: keep at least one of the title and skill sides")

    def limits(self) -> dict:
        """The limits as /info reports them."""
        keys = ("max_batch_tokens", "max_wait_ms", "max_queue", "max_queue_ms", "max_request_bytes", "max_texts",
                "request_timeout_s", "batching")
        data = asdict(self)
        return {k: data[k] for k in keys}
