"""Prometheus metrics of one service (its own registry, so several apps in one process do not clash)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from workvec.serve.batcher import BatchStats

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

_LATENCY = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
_TOKENS = (16, 64, 256, 1024, 2048, 4096, 8192, 16384, 32768)


class Metrics:
    """Requests and latency by route and status, queue depth, batch sizes and tokens, inference time."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("workvec_requests", "HTTP requests by route and status", ["route", "status"], registry=r)
        self.latency = Histogram("workvec_request_seconds", "HTTP request latency by route and status",
                                 ["route", "status"], buckets=_LATENCY, registry=r)
        self.queue = Gauge("workvec_queue_texts", "texts waiting for an inference batch", registry=r)
        self.batch_texts = Histogram("workvec_batch_texts", "texts per inference batch", ["op"], buckets=_SIZES,
                                     registry=r)
        self.batch_tokens = Histogram("workvec_batch_tokens", "padded tokens per inference batch", ["op"],
                                      buckets=_TOKENS, registry=r)
        self.inference = Histogram("workvec_inference_seconds", "time per inference batch (encode + match)",
                                   ["op"], buckets=_LATENCY, registry=r)
        self.rejected = Counter("workvec_rejected", "requests refused by a limit", ["limit"], registry=r)

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        """Count one finished HTTP request."""
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route, str(status)).observe(seconds)

    def observe_batch(self, stats: BatchStats) -> None:
        """Record one inference batch (the batcher's callback)."""
        op = str(stats.key[0])
        self.batch_texts.labels(op).observe(stats.texts)
        self.batch_tokens.labels(op).observe(stats.tokens)
        self.inference.labels(op).observe(stats.seconds)

    def render(self, queued: int) -> bytes:
        """The exposition text."""
        self.queue.set(queued)
        return generate_latest(self.registry)
