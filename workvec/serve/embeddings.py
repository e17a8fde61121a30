"""OpenAI-compatible routes: POST /v1/embeddings and GET /v1/models (the `openai` client works against them).

Vectors are unit length unless a request says `"normalize": false`; `dimensions` keeps the first N (then unit
length again), as OpenAI does for its text-embedding-3 models. Token arrays are refused: send text.
"""

from __future__ import annotations

import base64
import json
from typing import Literal

import numpy as np
from fastapi import FastAPI
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from workvec.serve.engine import Engine, UnknownModel

__all__ = ["EmbeddingsRequest", "EmbeddingsResponse", "ModelList", "model_ids", "register", "shape"]

OWNER = "workvec"
TOKEN_INPUT = ("input is token ids; this service tokenizes itself: send text (a string or a list of strings)."
               " LangChain's OpenAIEmbeddings sends token ids unless made with check_embedding_ctx_length=False")


class EmbeddingsRequest(BaseModel):
    """OpenAI's embeddings request (fields other clients send, such as `user`, are accepted and ignored)."""

    model_config = ConfigDict(extra="ignore", strict=True)
    input: str | list[str] | list[int] | list[list[int]] = Field(
        description="a text or a list of texts; token ids (a list of ints, or of lists of ints) are refused with 422")
    model: str | None = Field(None, description="an id from GET /v1/models: 'title', 'skill' or a bundle folder name")
    encoding_format: Literal["float", "base64"] = Field("float", description="base64: little-endian float32 bytes")
    dimensions: int | None = Field(None, description="keep the first N dimensions (1 to the model's width), then"
                                                     " unit length again (unless normalize is false)")
    normalize: bool = Field(True, description="unit-length vectors, as OpenAI's; false: the bundle's raw"
                                              " sentence_embedding (a workvec extension: openai clients send it"
                                              " with extra_body={'normalize': False})")


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingsResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: Usage


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(description="Unix time of the bundle's manifest (workvec.json)")
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


def register(app: FastAPI, state) -> None:
    """Add POST /v1/embeddings and GET /v1/models[/{id}] to `app` (`state`: the app's shared _State)."""

    @app.post("/v1/embeddings", response_model=EmbeddingsResponse)
    async def embeddings(body: EmbeddingsRequest) -> Response:
        """Sentence vectors in OpenAI's embeddings shape (unit length unless `normalize` is false)."""
        engine = state.ready_engine()
        side = engine.model(body.model)
        texts = _texts(body.input)
        state.check_count(len(texts), "inputs")
        width = _width(body.dimensions, side.encoder.dim, body.model or side.kind)
        tokens = engine.count_tokens(side.kind, texts)
        vectors = await state.submit(("embed", side.kind), texts, tokens)
        data = [{"object": "embedding", "index": i,
                 "embedding": encode_vector(shape(v, width, normalize=body.normalize), body.encoding_format)}
                for i, v in enumerate(vectors)]
        used = int(sum(tokens))
        return _json({"object": "list", "data": data, "model": body.model or side.names()[1],
                      "usage": {"prompt_tokens": used, "total_tokens": used}})

    @app.get("/v1/models", response_model=ModelList)
    async def models() -> Response:
        """The model ids /v1/embeddings accepts, in OpenAI's list shape."""
        return _json({"object": "list", "data": [_model(i, s) for i, s in model_ids(state.ready_engine())]})

    @app.get("/v1/models/{model_id}", response_model=Model)
    async def model(model_id: str) -> Response:
        """One model id (404 naming the served ones when it is not)."""
        ids = dict(model_ids(state.ready_engine()))
        if model_id not in ids:
            raise UnknownModel(f"model {model_id!r} is not served; GET /v1/models lists {sorted(ids)}")
        return _json(_model(model_id, ids[model_id]))


def model_ids(engine: Engine) -> list[tuple[str, object]]:
    """(id, side) for every name /v1/embeddings accepts, once each: the kinds ('title', 'skill') first, then the
    bundle folder names (a bundle serving both sides, as the shipped one does, is listed once, for the title side
    that its name resolves to)."""
    named: dict[str, object] = {}
    for position in (0, 1):
        for side in engine.sides.values():
            named.setdefault(side.names()[position], side)
    return list(named.items())


def shape(vector: np.ndarray, width: int | None, *, normalize: bool) -> np.ndarray:
    """The first `width` dimensions (all when None), scaled to unit length when `normalize` (a zero vector
    stays zero), as float32."""
    v = np.asarray(vector, dtype=np.float32)[:width]
    if normalize:
        norm = float(np.linalg.norm(v.astype(np.float64)))
        if norm > 0:
            v = (v.astype(np.float64) / norm).astype(np.float32)
    return v


def encode_vector(v: np.ndarray, fmt: str):
    """A vector as JSON floats, or as base64 of its little-endian float32 bytes (what OpenAI sends)."""
    if fmt == "base64":
        return base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode()
    return v.tolist()


def _texts(given) -> list[str]:
    texts = [given] if isinstance(given, str) else given
    if any(not isinstance(t, str) for t in texts):
        raise _refusal(422, "input", TOKEN_INPUT)
    return texts


def _width(dimensions: int | None, dim: int, name: str) -> int | None:
    if dimensions is None or dimensions == dim:
        return None
    if not 1 <= dimensions <= dim:
        raise _refusal(400, "dimensions", f"dimensions {dimensions} is out of range: model {name!r} makes {dim}-dimensional"
                                          f" vectors; send 1 to {dim}, or leave dimensions out")
    return dimensions


def _model(model_id: str, side) -> dict:
    manifest = side.encoder.directory / "workvec.json"
    return {"id": model_id, "object": "model", "created": int(manifest.stat().st_mtime), "owned_by": OWNER}


def _refusal(status: int, limit: str, message: str) -> HTTPException:
    """An HTTPException that the app's handler answers as a JSON error body naming `limit`."""
    exc = HTTPException(status_code=status, detail=message)
    exc.limit = limit
    return exc


def _json(data: dict) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), media_type="application/json")
