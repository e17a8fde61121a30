"""The baseline a user would write: a FastAPI handler that calls sentence-transformers once per request.

    python benchmarks/load/st_server.py MODEL_DIR PORT
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from sentence_transformers import SentenceTransformer


class Body(BaseModel):
    input: str | list[str]
    model: str | None = None


def main() -> None:
    model = SentenceTransformer(sys.argv[1], device="cpu", local_files_only=True)
    app = FastAPI()

    @app.post("/v1/embeddings")
    def embeddings(body: Body) -> dict:  # sync handler: FastAPI runs it on its thread pool
        texts = [body.input] if isinstance(body.input, str) else body.input
        vectors = model.encode(texts, batch_size=32)
        return {"object": "list", "model": "st", "data": [{"object": "embedding", "index": i, "embedding": v.tolist()}
                                                         for i, v in enumerate(vectors)]}

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")


if __name__ == "__main__":
    main()
