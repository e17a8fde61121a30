"""The FastAPI app: routes, error bodies, and the batcher's life (started and drained with the app)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import os
import sys
import time
from collections.abc import Callable, Hashable, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from workvec.errors import WorkvecError
from workvec.runtime.settings import ExtractSettings, NormalizeSettings
from workvec.serve import docs, embeddings
from workvec.serve.batcher import Batcher, DeadlineExceeded, QueueFull
from workvec.serve.engine import Engine, UnknownModel
from workvec.serve.guard import Guard, error_body
from workvec.serve.metrics import CONTENT_TYPE_LATEST, Metrics
from workvec.serve.schemas import (
    ExtractRequest,
    ExtractResponse,
    NormalizeRequest,
    NormalizeResponse,
)
from workvec.serve.settings import ServeSettings

__all__ = ["ServeError", "create_app"]


class ServeError(Exception):
    """A refusal with an HTTP status, the limit it names and a message that says what to do."""

    def __init__(self, status: int, limit: str, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.limit, self.headers = status, limit, headers or {}


def _error(status: int, limit: str, message: str, headers: dict | None = None) -> Response:
    return Response(error_body(status, limit, message), status_code=status, headers=headers,
                    media_type="application/json")


_ARRIVAL: contextvars.ContextVar = contextvars.ContextVar("workvec_arrival", default=None)


class _State:
    """What the routes share: the engine (None while loading), the batcher, metrics, settings."""

    def __init__(self, settings: ServeSettings, engine: Engine | None, load: Callable[[], Engine] | None) -> None:
        self.settings = settings
        self.engine = engine
        self.load = load
        self.load_error: str | None = None
        self.on_load_error: Callable[[], None] | None = None
        self.metrics = Metrics()
        self.batcher: Batcher | None = None
        self.started = time.time()
        self.arriving = 0  # POST /v1/* requests inside the service whose texts are not queued yet

    def arrive(self) -> Callable[[], None]:
        """Count a /v1 request as on its way until it queues its texts or leaves: the returned `settle` (also
        reachable from the route through a context variable) uncounts it once."""
        self.arriving += 1
        pending = [True]

        def settle() -> None:
            if pending[0]:
                pending[0] = False
                self.arriving -= 1
                if self.batcher is not None:
                    self.batcher.wake()

        _ARRIVAL.set(settle)
        return settle

    def ready_engine(self) -> Engine:
        if self.engine is None:
            why = f"loading failed: {self.load_error}" if self.load_error else "bundles and indexes are still loading"
            raise ServeError(503, "ready", f"not ready ({why}); poll GET /ready", {"Retry-After": "5"})
        return self.engine

    def check_count(self, n: int, what: str) -> None:
        if n > self.settings.max_texts:
            self.metrics.rejected.labels("max_texts").inc()
            raise ServeError(413, "max_texts", f"{n} {what} in one request; at most {self.settings.max_texts}"
                                               " (--max-texts): split the request")

    def refusal(self, exc: QueueFull) -> ServeError:
        """The 429 for an admission refusal (counted by the limit it names)."""
        self.metrics.rejected.labels(exc.limit).inc()
        flag = {"max_queue": "--max-queue", "max_queue_ms": "--max-queue-ms"}.get(exc.limit, "--request-timeout-s")
        return ServeError(429, exc.limit, f"{exc} ({flag}); the service is busy, retry after"
                                          f" {exc.retry_after} s", {"Retry-After": str(exc.retry_after)})

    def shed(self) -> tuple | None:
        """A refusal for a new /v1 request before its body is read, while the backlog alone is over budget."""
        if self.batcher is None or self.engine is None:
            return None
        full = self.batcher.shed(self.settings.request_timeout_s)
        if full is None:
            return None
        error = self.refusal(full)
        return error.status, error.limit, str(error), [(b"retry-after", str(full.retry_after).encode())]

    async def run_job(self, kind: str, key: Hashable, texts: Sequence[str]) -> list:
        """The model step of a planned job: its texts through the batcher under `key`. A job with more texts
        than the queue can ever hold is refused with 413 (no retry would clear a 429)."""
        if len(texts) > self.settings.max_queue:
            self.metrics.rejected.labels("max_queue").inc()
            what = "distinct sentences" if kind == "skill" else "distinct title texts"
            raise ServeError(413, "max_queue", f"this request holds {len(texts)} {what}, more than the"
                                               f" {self.settings.max_queue} the queue holds (--max-queue):"
                                               " split the request or raise --max-queue")
        return await self.submit(key, texts, self.engine.count_tokens(kind, texts))

    async def submit(self, key: Hashable, texts: Sequence, tokens: Sequence[int]) -> list:
        settle = _ARRIVAL.get()
        if settle is not None:  # queued (or refused) now: no longer on its way
            settle()
        try:
            return await self.batcher.submit(key, texts, tokens, timeout=self.settings.request_timeout_s)
        except QueueFull as exc:
            raise self.refusal(exc) from None
        except DeadlineExceeded as exc:
            self.metrics.rejected.labels("request_timeout").inc()
            raise ServeError(503, "request_timeout", f"{exc} (--request-timeout-s {self.settings.request_timeout_s:g});"
                                                     " the service is overloaded, retry later", {"Retry-After": "1"})


def create_app(settings: ServeSettings, *, engine: Engine | None = None) -> FastAPI:
    """The service. Without `engine` the bundles load on a thread after startup (GET /ready says when)."""
    state = _State(settings, engine, None if engine is not None else (lambda: Engine(settings)))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        state.batcher = Batcher(lambda key, texts: state.engine.run(key, texts), max_batch_tokens=settings.max_batch_tokens,
                                max_wait_ms=settings.max_wait_ms, max_queue=settings.max_queue,
                                max_queue_s=settings.max_queue_ms / 1000.0, batching=settings.batching, on_batch=state.metrics.observe_batch,
                                arriving=lambda: state.arriving)
        state.batcher.start()
        loader = asyncio.get_running_loop().create_task(_load(state)) if state.engine is None else None
        yield
        if loader is not None:
            loader.cancel()
        await state.batcher.stop()

    app = FastAPI(title="workvec", version=_version(), lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Job-title normalization, skill extraction and embeddings from workvec bundles.")
    docs.register(app)
    app.state.serve = state
    api_key = os.environ.get(settings.api_key_env) if settings.api_key_env else None
    app.add_middleware(Guard, api_key=api_key, max_bytes=settings.max_request_bytes, metrics=state.metrics,
                       routes=app.routes, shed=state.shed, arrive=state.arrive)
    _handlers(app)
    _routes(app, state)
    return app


async def _load(state: _State) -> None:
    try:
        state.engine = await asyncio.to_thread(state.load)
    except (WorkvecError, OSError, ValueError) as exc:
        state.load_error = str(exc)
        print(f"workvec: error: {exc}", file=sys.stderr)
        if state.on_load_error is not None:
            state.on_load_error()


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(ServeError)
    async def serve_error(request: Request, exc: ServeError):
        return _error(exc.status, exc.limit, str(exc), exc.headers)

    @app.exception_handler(UnknownModel)
    async def unknown(request: Request, exc: UnknownModel):
        return _error(404, "loaded_models", str(exc.args[0]))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        return _error(422, "schema", f"invalid request body ({where}); see GET /docs for the schema")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        limit = getattr(exc, "limit", "http")
        if exc.status_code == 413:  # a body that passed the limit while streaming (guard.BodyTooLarge)
            request.app.state.serve.metrics.rejected.labels(limit).inc()
        return _error(exc.status_code, limit, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(WorkvecError)
    async def workvec_error(request: Request, exc: WorkvecError):
        return _error(422, "input", str(exc))


def _json(data: dict) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), media_type="application/json")


def _routes(app: FastAPI, state: _State) -> None:
    @app.post("/v1/normalize", response_model=NormalizeResponse)
    async def normalize(body: NormalizeRequest) -> Response:
        """Map job titles to occupations (results as `workvec normalize --json` prints them)."""
        titles = state.ready_engine().matcher("title")
        state.check_count(len(body.titles), "titles")
        job = titles.plan(body.titles, NormalizeSettings(k=body.k, clean=body.clean, taxonomy=body.taxonomy,
                                                         language_guard=body.language_guard))
        found = await state.run_job("title", ("normalize", job.settings), job.texts)
        return _json({"results": [a.to_json() for a in job.finish(found)]})

    @app.post("/v1/extract", response_model=ExtractResponse)
    async def extract(body: ExtractRequest) -> Response:
        """Skills in job-ad texts (results as `workvec extract --json` prints them)."""
        skills = state.ready_engine().matcher("skill")
        state.check_count(len(body.texts), "texts")
        if body.k is not None and body.top_k is not None:
            raise ServeError(422, "schema", "give k or its older name top_k, not both")
        settings = ExtractSettings(threshold=body.threshold, k=body.k if body.top_k is None else body.top_k,
                                   requirement_filter=body.requirement_filter, exact=body.exact,
                                   taxonomy=body.taxonomy, language_guard=body.language_guard)
        job = skills.plan(body.texts, settings)
        outcomes = await state.run_job("skill", ("extract", job.settings), job.texts)
        return _json({"results": [r.to_json() for r in job.finish(outcomes)]})

    embeddings.register(app, state)

    @app.get("/health")
    async def health() -> dict:
        """Alive (the process answers)."""
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> Response:
        """Bundles loaded and indexes built: 200, else 503."""
        if state.engine is None:
            return JSONResponse({"ready": False, "error": state.load_error}, status_code=503, headers={"Retry-After": "5"})
        return JSONResponse({"ready": True})

    @app.get("/info")
    async def info() -> dict:
        """Bundles, parity, versions, taxonomy hashes and limits."""
        engine = state.ready_engine()
        return {**engine.info(), "limits": state.settings.limits(), "uptime_s": round(time.time() - state.started, 1)}

    @app.get("/metrics")
    async def metrics() -> Response:
        """Prometheus exposition."""
        return Response(state.metrics.render(state.batcher.queued if state.batcher else 0), media_type=CONTENT_TYPE_LATEST)


def _version() -> str:
    import workvec

    return workvec.__version__
