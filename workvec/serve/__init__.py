"""`workvec serve`: an HTTP service with dynamic batching, limits and metrics (the `serve` extra)."""

from workvec.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_app", "run"]


def create_app(settings: ServeSettings, **kwargs):
    """The FastAPI app (see `workvec.serve.app.create_app`)."""
    from workvec.serve.app import create_app as build

    return build(settings, **kwargs)


def run(settings: ServeSettings, **kwargs) -> int:
    """Serve until SIGTERM (see `workvec.serve.server.run`)."""
    from workvec.serve.server import run as serve

    return serve(settings, **kwargs)
