"""ASGI middleware in front of every route: API key, request-body limit, load shedding, request metrics."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable, Sequence

from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match

from workvec.serve.metrics import Metrics

__all__ = ["Guard", "error_body"]

OPEN_PATHS = frozenset({"/health", "/ready", "/docs", "/openapi.json", "/redoc", "/docs/assets/swagger-ui-bundle.js",
                        "/docs/assets/swagger-ui.css", "/docs/assets/favicon.png", "/docs/assets/redoc.standalone.js"})


def error_body(status: int, limit: str, message: str) -> bytes:
    """The JSON every refusal carries: which limit and what to do."""
    return json.dumps({"error": {"status": status, "limit": limit, "message": message}}).encode()


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a streamed body passes the limit (an HTTPException, so that the
    framework's body reader lets it through to the app's handler)."""

    limit = "max_request_bytes"

    def __init__(self, message: str) -> None:
        super().__init__(status_code=413, detail=message)


class Guard:
    """Refuse before the app sees the request: 401 without the API key (when one is set), 413 for a body
    over `max_bytes` (by Content-Length, or while streaming); 429 on POST /v1/* while `shed()` returns a
    refusal (the backlog is over budget: refused before the body is read); count each POST /v1/* request
    as arriving (`arrive`) until it queues its texts or leaves; time and count every request, and
    say the time in a `Server-Timing: app;dur=MS` header (so a client can tell server time from network and
    accept-queue time). `routes`: the app's route list (`app.routes`, read per request, so routes added after
    the middleware count): a request's metric label is the path of the route it matches, else "other"."""

    def __init__(self, app, *, api_key: str | None, max_bytes: int, metrics: Metrics, routes: Sequence[BaseRoute] = (),
                 shed: Callable[[], tuple | None] | None = None,
                 arrive: Callable[[], Callable[[], None]] | None = None) -> None:
        self.app = app
        self.routes = routes
        self.shed = shed
        self.arrive = arrive
        self.api_key = api_key.encode() if api_key else None
        self.max_bytes = max_bytes
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        route = self.route_label(scope)
        started = time.perf_counter()
        status = {"code": 500}

        async def send_status(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                spent = f"app;dur={(time.perf_counter() - started) * 1000:.1f}".encode()
                message = {**message, "headers": [*message.get("headers", []), (b"server-timing", spent)]}
            await send(message)

        settle = None
        try:
            refusal = self._refusal(scope, path)
            if refusal is not None:
                await _reply(send_status, *refusal)
                return
            if self.arrive is not None and scope["method"] == "POST" and path.startswith("/v1/"):
                settle = self.arrive()
            await self.app(scope, self._limited(receive), send_status)
        except BodyTooLarge:
            self.metrics.rejected.labels("max_request_bytes").inc()
            await _reply(send_status, 413, "max_request_bytes", self._too_large())
        finally:
            if settle is not None:
                settle()
            self.metrics.observe_request(route, status["code"], time.perf_counter() - started)

    def route_label(self, scope) -> str:
        """The path (template) of the app route that `scope` matches, by path alone (a wrong method still counts),
        else "other": the metrics' route label, so every route is labelled and the label set stays bounded."""
        for route in self.routes:
            if route.matches(scope)[0] is not Match.NONE:
                return getattr(route, "path", "other")
        return "other"

    def _refusal(self, scope, path: str) -> tuple | None:
        headers = dict(scope["headers"])
        if self.api_key is not None and path not in OPEN_PATHS:
            given = _bearer(headers.get(b"authorization", b"")) or headers.get(b"x-api-key", b"")
            if not hmac.compare_digest(given, self.api_key):
                what = "wrong" if given else "missing"
                return 401, "api_key", f"{what} API key: send 'Authorization: Bearer KEY'", [(b"www-authenticate", b"Bearer")]
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            self.metrics.rejected.labels("max_request_bytes").inc()
            return 413, "max_request_bytes", self._too_large()
        if self.shed is not None and scope["method"] == "POST" and path.startswith("/v1/"):
            return self.shed()
        return None

    def _too_large(self) -> str:
        return f"request body over {self.max_bytes} bytes (--max-request-bytes); send fewer or shorter texts"

    def _limited(self, receive):
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self._too_large())
            return message

        return limited


def _bearer(value: bytes) -> bytes:
    scheme, _, token = value.partition(b" ")
    return token.strip() if scheme.lower() == b"bearer" else b""


async def _reply(send, status: int, limit: str, message: str, headers: list | None = None) -> None:
    body = error_body(status, limit, message)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
