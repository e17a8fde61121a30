"""Run the app under uvicorn: loopback by default; SIGTERM stops accepting, finishes in-flight work, exits 0."""

from __future__ import annotations

import dataclasses
import os
import signal

from workvec.errors import InputError
from workvec.serve.settings import ServeSettings

__all__ = ["run"]


def run(settings: ServeSettings, *, log_level: str = "info") -> int:
    """Serve until SIGTERM/SIGINT; 0 after a clean drain, 2 when the bundles failed to load."""
    import uvicorn

    from workvec.serve.app import create_app

    if settings.api_key_env and not os.environ.get(settings.api_key_env):
        raise InputError(f"--api-key-env {settings.api_key_env}: that environment variable is empty or unset;"
                         " export it or drop the flag")
    settings = dataclasses.replace(settings, threads=settings.threads or serve_threads())
    _limit_blas(settings.threads)
    app = create_app(settings)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level=log_level, access_log=False,
                            timeout_graceful_shutdown=int(settings.graceful_timeout_s), lifespan="on")
    server = uvicorn.Server(config)
    state = app.state.serve
    state.on_load_error = lambda: setattr(server, "should_exit", True)
    for sig in (signal.SIGTERM, signal.SIGINT):  # uvicorn re-raises the signal it drained on: make that a no-op
        signal.signal(sig, lambda *_: None)
    server.run()
    return 2 if state.load_error else 0


def serve_threads() -> int:
    """Inference threads when --threads is not given: cores - 1 (at least 1, at most 8), so that one core
    stays with the event loop (parsing, admission, answering) while inference runs."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores - 1, 8))


def _limit_blas(threads: int) -> None:
    """Hold numpy's BLAS (the label search's matrix products) to the inference threads: its own pool spins on
    every core otherwise and starves the event loop. Skipped when threadpoolctl is not installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=threads, user_api="blas")
