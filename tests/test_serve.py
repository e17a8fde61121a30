"""`workvec serve` against real servers on loopback ports: endpoints, batching, limits, API key, shutdown."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import signal
import threading
import time

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install 'workvec[serve]')")
httpx = pytest.importorskip("httpx", reason="httpx (the dev extra) is not installed")
pytest.importorskip("uvicorn")

from serve_support import ADS, KEY, QUERIES, bundles, running, serve_args, slow_client


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The main service at its default precision (per-row int8 on CPU): small limits to test them."""
    tmp = tmp_path_factory.mktemp("serve")
    args = serve_args(tmp, "--max-texts", "16", "--max-request-bytes", "4096",
                      "--max-wait-ms", "20")
    with running(args, tmp) as srv:
        yield srv


def _post(client: httpx.Client, path: str, body) -> httpx.Response:
    return client.post(path, json=body)


def test_health_ready_info_metrics_openapi(server):
    with server.client() as c:
        assert c.get("/health").json() == {"status": "ok"}
        assert c.get("/ready").json() == {"ready": True}
        info = c.get("/info").json()
        assert set(info["sides"]) == {"title", "skill"}
        assert info["sides"]["title"]["taxonomy"]["sha256"] and info["sides"]["title"]["precision"] == "int8"
        assert info["limits"]["max_texts"] == 16 and info["versions"]["onnxruntime"]
        paths = c.get("/openapi.json").json()["paths"]
        assert {"/v1/normalize", "/v1/extract", "/v1/embeddings", "/health", "/ready", "/info", "/metrics"} <= set(paths)
        timing = _post(c, "/v1/normalize", {"titles": ["nurse"]}).headers["server-timing"]
        assert timing.startswith("app;dur=") and float(timing.split("=")[1]) > 0
        text = c.get("/metrics").text
    for name in ("workvec_requests_total", "workvec_request_seconds_bucket", "workvec_queue_texts",
                 "workvec_batch_texts_bucket", "workvec_batch_tokens_bucket", "workvec_inference_seconds_bucket"):
        assert name in text
    assert 'route="/v1/normalize",status="200"' in text


def test_results_match_the_library(server, tmp_path):
    """/v1/normalize and /v1/extract return what the library (and so the CLI's --json) returns."""
    from workvec.serve.engine import Engine
    from workvec.serve.settings import ServeSettings

    log_args = server.process.args
    opt = {a: log_args[i + 1] for i, a in enumerate(log_args) if a.startswith("--") and i + 1 < len(log_args)}
    engine = Engine(ServeSettings(title_bundle=opt["--title-bundle"], skill_bundle=opt["--skill-bundle"],
                                  titles_taxonomy=opt["--titles-taxonomy"], skills_taxonomy=opt["--skills-taxonomy"],
                                  index_dir=opt["--index-dir"], precision="auto", threads=1))
    with server.client() as c:
        got = _post(c, "/v1/normalize", {"titles": QUERIES[:3], "k": 3}).json()
        raw = _post(c, "/v1/normalize", {"titles": QUERIES[:3], "k": 3, "clean": False}).json()
        ads = _post(c, "/v1/extract", {"texts": ADS, "threshold": 0.5}).json()
    titles = engine.sides["title"].matcher
    assert got == {"results": [a.to_json() for a in titles.normalize(QUERIES[:3], k=3)]}
    assert raw == {"results": [a.to_json() for a in titles.normalize(QUERIES[:3], k=3, clean=False)]}
    assert [r["cleaned"] for r in got["results"]] != QUERIES[:3]  # cleaning ran ("RN night shift" -> "RN")
    extractor = engine.sides["skill"].matcher
    assert ads == {"results": [extractor.extract(ad, threshold=0.5).to_json() for ad in ADS]}
    assert any(r["skills"] for r in ads["results"])


def test_embeddings_openai_shape(server):
    with server.client() as c:
        one = _post(c, "/v1/embeddings", {"input": "registered nurse", "model": "title"}).json()
        many = _post(c, "/v1/embeddings", {"input": ["registered nurse", "chef"], "model": "tiny-title",
                                           "encoding_format": "base64", "user": "ignored"}).json()
        skill = _post(c, "/v1/embeddings", {"input": ["chef"], "model": "skill"})
    assert one["object"] == "list" and one["model"] == "title" and one["data"][0]["object"] == "embedding"
    dim = json.loads((bundles()[0] / "workvec.json").read_text())["outputs"]["sentence_embedding"]
    assert len(one["data"][0]["embedding"]) == dim and one["usage"]["prompt_tokens"] == one["usage"]["total_tokens"] > 2
    decoded = np.frombuffer(base64.b64decode(many["data"][0]["embedding"]), dtype="<f4")
    assert np.array_equal(decoded, np.asarray(one["data"][0]["embedding"], dtype=np.float32))
    assert [d["index"] for d in many["data"]] == [0, 1]
    assert skill.status_code == 200


def _error(response: httpx.Response, status: int, limit: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["limit"] == limit and body["status"] == status and body["message"]
    return body


def test_limits_and_bad_input(server):
    with server.client() as c:
        _error(_post(c, "/v1/embeddings", {"input": "x", "model": "nope"}), 404, "loaded_models")
        wrong = _error(_post(c, "/v1/normalize", {"titles": ["x"], "taxonomy": "esco-occupations"}), 422, "input")
        assert "taxonomy 'esco-occupations' is not loaded" in wrong["message"]
        _error(_post(c, "/v1/normalize", {"titles": ["x"] * 17}), 413, "max_texts")
        _error(_post(c, "/v1/normalize", {"titles": ["x" * 5000]}), 413, "max_request_bytes")
        streamed = c.post("/v1/normalize", content=iter([b'{"titles": ["', b"y" * 5000, b'"]}']),
                          headers={"content-type": "application/json"})
        _error(streamed, 413, "max_request_bytes")
        _error(c.post("/v1/normalize", content=b'{"titles": [', headers={"content-type": "application/json"}),
               422, "schema")
        _error(_post(c, "/v1/normalize", {"titles": "one string"}), 422, "schema")
        _error(_post(c, "/v1/normalize", {"titles": [1, 2]}), 422, "schema")
        # settings are checked by the runtime: the CLI's message (tests/test_doors.py compares them)
        assert _error(_post(c, "/v1/normalize", {"titles": ["x"], "k": 0}), 422, "input")["message"] == \
            "k must be a positive integer (got 0)"
        _error(_post(c, "/v1/extract", {"texts": ["x"], "threshold": 2}), 422, "input")
        _error(_post(c, "/v1/extract", {"texts": ["x"], "k": 1, "top_k": 1}), 422, "schema")
        _error(_post(c, "/v1/extract", {"text": ["x"]}), 422, "schema")
        assert _post(c, "/v1/normalize", {"titles": []}).json() == {"results": []}
        metrics = c.get("/metrics").text
    for limit, count in (("max_texts", 1), ("max_request_bytes", 2)):  # every 413 is counted by its limit
        assert f'workvec_rejected_total{{limit="{limit}"}} {count}.0' in metrics, limit
    with server.client() as c:
        assert _post(c, "/v1/extract", {"texts": [""]}).json() == \
            {"results": [{"skills": [], "skipped": [], "truncated": False}]}


def test_api_key(server):
    with server.client(key=None) as c:
        assert c.get("/health").status_code == 200 and c.get("/ready").status_code == 200
        missing = _error(_post(c, "/v1/normalize", {"titles": ["x"]}), 401, "api_key")
        assert "missing" in missing["message"]
        wrong = c.post("/v1/normalize", json={"titles": ["x"]}, headers={"Authorization": "Bearer nope"})
        _error(wrong, 401, "api_key")
        assert wrong.headers["www-authenticate"] == "Bearer"
        _error(c.get("/metrics"), 401, "api_key")
        ok = c.post("/v1/normalize", json={"titles": ["x"]}, headers={"X-API-Key": KEY})
        assert ok.status_code == 200


async def _storm(url: str, n: int) -> list[tuple[str, dict, dict]]:
    """n concurrent requests of every kind; returns (path, body, answer)."""
    bodies = []
    for i in range(n):
        bodies += [("/v1/normalize", {"titles": QUERIES[i % 8: i % 8 + 1 + i % 3], "k": 3}),
                   ("/v1/extract", {"texts": [ADS[i % 3]], "threshold": 0.5}),
                   ("/v1/embeddings", {"input": [QUERIES[(i + 3) % 8], ADS[i % 3]], "model": "title"})]
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as c:
        answers = await asyncio.gather(*(c.post(p, json=b) for p, b in bodies))
    return [(p, b, a.json()) for (p, b), a in zip(bodies, answers)]


def _batch_totals(client: httpx.Client) -> np.ndarray:
    """(texts, batches) run so far, from /metrics."""
    lines = client.get("/metrics").text.splitlines()
    return np.array([sum(float(line.split()[-1]) for line in lines if line.startswith(f"workvec_batch_texts_{name}"))
                     for name in ("sum", "count")])


def _same_alone_and_under_load(server) -> None:
    with server.client() as c:
        before = _batch_totals(c)
    loaded = asyncio.run(_storm(server.url, 12))
    with server.client() as c:
        texts, batches = _batch_totals(c) - before
        for path, body, answer in loaded:
            _assert_same(path, _post(c, path, body).json(), answer)
    assert texts / batches > 1.5, f"no batching happened: {texts} texts in {batches} batches"


def _assert_same(path: str, alone: dict, loaded: dict) -> None:
    """The same JSON alone and under load, bit for bit: batches hold texts of one exact token length (padding
    moves float sums), a lone pooled text runs as a pair (onnxruntime's pooling sums one row in another order),
    and the label search re-scores each query on its own."""
    assert alone == loaded, f"{path} differs under load"


def test_same_answer_alone_and_under_load(server):
    """Concurrent requests share batches (mean batch > 1.5 texts) and still get what they get alone."""
    _same_alone_and_under_load(server)


def test_same_answer_under_load_fp32(tmp_path):
    with running(serve_args(tmp_path, "--precision", "fp32", "--max-wait-ms", "20"), tmp_path) as srv:
        _same_alone_and_under_load(srv)


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory):
    """Batches wait 1.5 s for company, the queue holds 8 texts, requests give up after 1 s."""
    tmp = tmp_path_factory.mktemp("serve-slow")
    args = serve_args(tmp, "--max-wait-ms", "1500", "--max-queue", "8", "--request-timeout-s", "1",
                      "--max-batch-tokens", "100000", skills=False)
    with running(args, tmp) as srv:
        yield srv


def test_queue_full_429_and_deadline_503(slow_server):
    with slow_client(slow_server), slow_server.client() as c, slow_server.client() as c2:
        first: dict = {}
        waiting = threading.Thread(target=lambda: first.update(r=_post(c, "/v1/normalize", {"titles": QUERIES})))
        waiting.start()
        time.sleep(0.4)  # the first request's 8 titles now fill the queue
        full = _post(c2, "/v1/normalize", {"titles": ["nurse"]})
        waiting.join(10)
        _error(full, 429, "max_queue")
        assert int(full.headers["retry-after"]) >= 1
        _error(first["r"], 503, "request_timeout")
        assert _post(c2, "/v1/embeddings", {"input": "x"}).status_code == 503  # 1.5 s wait > 1 s deadline
        assert 'limit="max_queue"' in c2.get("/metrics").text
    time.sleep(0.3)  # the server sees the slow client's disconnect
    with slow_server.client() as c:  # nobody on the way: a lone request does not wait the 1.5 s for company
        assert _post(c, "/v1/embeddings", {"input": "x"}).status_code == 200


def test_sigterm_finishes_in_flight_and_exits_0(tmp_path):
    args = serve_args(tmp_path, "--max-wait-ms", "1500", skills=False)
    with running(args, tmp_path, key=False) as srv:
        result: dict = {}
        client = srv.client(key=None)
        with slow_client(srv, key=False):  # closed (gone) right after the SIGTERM
            thread = threading.Thread(target=lambda: result.update(r=_post(client, "/v1/normalize", {"titles": ["nurse"]})))
            thread.start()
            time.sleep(0.5)  # the request is waiting in the batcher (for the slow client's company)
            srv.process.send_signal(signal.SIGTERM)
        thread.join(20)
        assert srv.process.wait(timeout=30) == 0
        client.close()
        assert result["r"].status_code == 200
        assert result["r"].json()["results"][0]["matches"]
        with pytest.raises(httpx.TransportError):
            httpx.get(srv.url + "/health", timeout=2)


def test_bad_bundle_is_one_line_error(tmp_path):
    import subprocess
    import sys

    from serve_support import REPO

    done = subprocess.run([sys.executable, "-m", "workvec", "serve", "--title-bundle", str(tmp_path / "none"),
                           "--no-skills", "--port", "0"], capture_output=True, text=True, timeout=60, check=False,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert "workvec: error:" in done.stderr and "Traceback" not in done.stderr


def _sample_path(route) -> str:
    """A request path that `route` serves (a template's parameters filled in, a mount's file below it)."""
    from starlette.routing import Mount

    path = re.sub(r"\{[^}]+\}", "x", route.path)
    return path + "/x" if isinstance(route, Mount) else path


def test_every_route_is_labelled_by_its_path_and_unknown_paths_are_other():
    """The metrics' route label comes from the app's own routes (none kept by hand), checked in process."""
    from starlette.testclient import TestClient

    from workvec.serve.app import create_app
    from workvec.serve.guard import Guard
    from workvec.serve.settings import ServeSettings

    app = create_app(ServeSettings())  # never started, so no model loads
    guard = next(m for m in app.user_middleware if m.cls is Guard)
    assert guard.kwargs["routes"] is app.routes
    label = Guard(None, api_key=None, max_bytes=1, metrics=None, routes=app.routes).route_label
    scope = {"type": "http", "method": "GET", "root_path": ""}
    assert len(app.routes) >= 9
    for route in app.routes:
        assert label({**scope, "path": _sample_path(route)}) == route.path, route
    for unknown in ("/nope", "/v1/normalize/extra", "/v2/normalize"):
        assert label({**scope, "path": unknown}) == "other"
    client = TestClient(app)
    assert client.get("/health").status_code == 200 and client.get("/nope").status_code == 404
    assert client.post("/metrics").status_code == 405
    text = client.get("/metrics").text
    for pair in ('route="/health",status="200"', 'route="other",status="404"', 'route="/metrics",status="405"'):
        assert pair in text


def test_a_text_longer_than_the_queue_is_a_413_not_a_429(tmp_path):
    """An idle server refuses a text with more distinct sentences than --max-queue with a 413 naming the limit
    (a 429 would never clear), counts it, and serves the same sentences repeated (each runs once)."""
    many = " ".join(f"Skill number {i} is Python." for i in range(12))
    with running(serve_args(tmp_path, "--max-queue", "8"), tmp_path) as srv, srv.client() as c:
        body = _error(_post(c, "/v1/extract", {"texts": [many]}), 413, "max_queue")
        assert "12 distinct sentences" in body["message"] and "--max-queue" in body["message"]
        repeated = _post(c, "/v1/extract", {"texts": ["You know Python. " * 40]})
        assert repeated.status_code == 200 and repeated.json()["results"][0]["skills"]
        metrics = c.get("/metrics").text
    assert 'workvec_rejected_total{limit="max_queue"} 1.0' in metrics
