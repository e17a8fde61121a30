"""Run the app under uvicorn: loopback by default; SIGTERM stops accepting, finishes in-flight work, exits 0."""

from __future__ import annotations

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
