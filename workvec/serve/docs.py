"""GET /docs (Swagger UI) and /redoc from an installed package's files, so that they work offline (no CDN).

The files come from PyPI's `fastapi-offline` (Swagger UI 5, which renders the OpenAPI 3.1 that FastAPI
writes; `swagger-ui-bundle` ships Swagger UI 4, which answers it with "Unable to render this definition").
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles

from workvec.errors import InputError

__all__ = ["ASSETS", "FILES", "register"]

ASSETS = "/docs/assets"
FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png", "redoc.standalone.js")  # what the pages load


def register(app: FastAPI) -> None:
    """Mount the files under ASSETS and add GET /docs and /redoc (the app needs docs_url=None, redoc_url=None)."""
    try:
        folder = resources.files("fastapi_offline") / "static"
    except ModuleNotFoundError:
        raise InputError("fastapi-offline (Swagger UI's files for /docs) is not installed:"
                         " pip install 'workvec[serve]'") from None
    app.mount(ASSETS, StaticFiles(directory=str(folder)), name="docs-assets")
    js, css, icon, redoc = (f"{ASSETS}/{name}" for name in FILES)

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui():
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} API", swagger_js_url=js,
                                   swagger_css_url=css, swagger_favicon_url=icon)

    @app.get("/redoc", include_in_schema=False)
    async def redoc_ui():
        return get_redoc_html(openapi_url=app.openapi_url, title=f"{app.title} API", redoc_js_url=redoc,
                              redoc_favicon_url=icon, with_google_fonts=False)
