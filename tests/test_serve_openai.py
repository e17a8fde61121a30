"""The real `openai` client against `workvec serve` on a loopback port: /v1/models, /v1/embeddings
(unit length, raw, dimensions, float and base64, token ids refused) and the offline /docs and /redoc."""

from __future__ import annotations

import base64
import re
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install 'workvec[serve]')")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx", reason="httpx (the dev extra) is not installed")
openai = pytest.importorskip("openai", reason="openai (the dev extra) is not installed")

from serve_support import KEY, bundles, running, serve_args

TEXTS = ["registered nurse", "Sr. Java Dev", "We need strong Python and SQL skills."]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve-openai")
    with running(serve_args(tmp, "--max-wait-ms", "5"), tmp) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    with openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0, timeout=30) as c:
        yield c


def _vectors(response) -> np.ndarray:
    return np.array([d.embedding for d in response.data], dtype=np.float32)


def _dim(kind: str) -> int:
    from workvec.runtime.manifest import read_manifest

    return read_manifest(bundles()[0 if kind == "title" else 1]).dim


def test_models_list_and_retrieve(server, client):
    models = client.models.list()
    ids = [m.id for m in models.data]
    assert ids == ["title", "skill", "tiny-title", "tiny-skill"]
    assert all(m.object == "model" and m.owned_by == "workvec" and m.created > 0 for m in models.data)
    assert client.models.retrieve("tiny-skill").id == "tiny-skill"
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("text-embedding-3-small")
    assert "tiny-title" in missing.value.body["message"]
    with (openai.OpenAI(base_url=server.url + "/v1", api_key="wrong", max_retries=0) as stranger,
          pytest.raises(openai.AuthenticationError)):
        stranger.models.list()
    with server.client() as c:
        assert 'route="/v1/models",status="200"' in c.get("/metrics").text


def test_model_ids_list_a_shared_bundle_once():
    """The shipped model serves both sides from one bundle: 'title', 'skill' and its folder name, once."""
    from workvec.serve.embeddings import model_ids

    title = SimpleNamespace(names=lambda: ("title", "workvec-minilm-esco"))
    skill = SimpleNamespace(names=lambda: ("skill", "workvec-minilm-esco"))
    named = model_ids(SimpleNamespace(sides={"title": title, "skill": skill}))
    assert [i for i, _ in named] == ["title", "skill", "workvec-minilm-esco"]
    assert dict(named)["workvec-minilm-esco"] is title  # what Engine.model resolves the name to


@pytest.mark.parametrize("model", ["title", "skill"])
def test_float_and_base64_are_the_same_unit_vectors(client, model):
    """The client's default (base64, decoded by the client), float, and base64 as sent: the same bits."""
    default = _vectors(client.embeddings.create(input=TEXTS, model=model))
    floats = client.embeddings.create(input=TEXTS, model=model, encoding_format="float")
    sent = client.embeddings.create(input=TEXTS, model=model, encoding_format="base64")
    decoded = np.stack([np.frombuffer(base64.b64decode(d.embedding), dtype="<f4") for d in sent.data])
    assert default.shape == (len(TEXTS), _dim(model))
    assert np.array_equal(default, _vectors(floats)) and np.array_equal(default, decoded)
    assert np.allclose(np.linalg.norm(default, axis=1), 1.0, atol=1e-6)
    assert floats.model == model and floats.usage.prompt_tokens == floats.usage.total_tokens > len(TEXTS)


def test_raw_vectors_on_request(client):
    """extra_body={"normalize": False}: the bundle's sentence_embedding as it is (the skill side's is not unit
    length); the default is that vector scaled to unit length."""
    from workvec.runtime.encoder import Encoder

    raw = _vectors(client.embeddings.create(input=TEXTS, model="skill", extra_body={"normalize": False}))
    unit = _vectors(client.embeddings.create(input=TEXTS, model="skill"))
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-3)
    assert np.allclose(raw / np.linalg.norm(raw, axis=1, keepdims=True), unit, atol=1e-6)
    library = Encoder.open(bundles()[1], threads=1).encode(TEXTS)
    assert np.allclose(raw, library, rtol=1e-5, atol=1e-6)


def test_dimensions(client):
    dim = _dim("title")
    full = _vectors(client.embeddings.create(input=TEXTS, model="title", extra_body={"normalize": False}))
    short = _vectors(client.embeddings.create(input=TEXTS, model="title", dimensions=8))
    assert short.shape == (len(TEXTS), 8)
    assert np.allclose(short, full[:, :8] / np.linalg.norm(full[:, :8], axis=1, keepdims=True), atol=1e-6)
    raw = client.embeddings.create(input=TEXTS, model="title", dimensions=8, extra_body={"normalize": False})
    assert np.array_equal(_vectors(raw), full[:, :8])
    assert len(client.embeddings.create(input="x", model="title", dimensions=dim).data[0].embedding) == dim
    for wrong in (dim + 1, 0):
        with pytest.raises(openai.BadRequestError) as refused:
            client.embeddings.create(input="x", model="title", dimensions=wrong)
        body = refused.value.body
        assert body["limit"] == "dimensions" and f"{dim}-dimensional" in body["message"]


@pytest.mark.parametrize("tokens", [[101, 2000, 102], [[101, 2000, 102], [101, 102]]])
def test_token_ids_are_refused(client, tokens):
    """What LangChain's OpenAIEmbeddings sends by default: 422 saying to send text and how."""
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        client.embeddings.create(input=tokens, model="title")
    message = refused.value.body["message"]
    assert "send text" in message and "check_embedding_ctx_length=False" in message


def test_docs_and_redoc_work_offline(server):
    """/docs and /redoc load their scripts, styles and icon from this service (no CDN), without the API key."""
    with server.client(key=None) as c:
        assert c.get("/openapi.json").json()["openapi"].startswith("3.1")
        for page in ("/docs", "/redoc"):
            html = c.get(page)
            assert html.status_code == 200 and "text/html" in html.headers["content-type"]
            assets = re.findall(r'(?:src|href)="([^"]+)"', html.text)
            assert assets and not [a for a in assets if "//" in a], assets  # nothing from another host
            for url in assets:
                got = c.get(url)
                assert got.status_code == 200 and got.content, url
        js = c.get("/docs/assets/swagger-ui-bundle.js").text
    assert "isOAS31" in js  # Swagger UI 5: renders FastAPI's OpenAPI 3.1 (Swagger UI 4 cannot)
