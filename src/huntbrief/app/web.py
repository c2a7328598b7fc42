"""FastAPI app: read-only HTML pages and a JSON API over the store. No pipeline logic here.

`create_app(store)` builds the app; `huntbrief serve` (app/cmd_serve.py) runs it with uvicorn.
Every page is server-rendered with autoescaping Jinja2; scripts and styles come only from /static
under a strict Content-Security-Policy (no inline script or style); nothing redirects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from huntbrief import __version__
from huntbrief.adapters.queries import Queries
from huntbrief.adapters.store import SqlStore
from huntbrief.app import web_api, web_pages
from huntbrief.app.web_context import WebContext, make_templates, output_formats, web_context
from huntbrief.errors import StoreError

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


def create_app(
    store: SqlStore, *, allowed_hosts: Sequence[str] | None = None, document_pages: bool = False
) -> FastAPI:
    """The web app over an open store; `allowed_hosts` (Host header check) blocks DNS rebinding.

    The OpenAPI spec covers the JSON API; `document_pages` adds the HTML pages too (for fuzzing them)."""
    app = FastAPI(
        title="huntbrief",
        version=__version__,
        description="Read-only threat briefs: list, filter, IOC lookup, ATT&CK techniques, feed health.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
    )
    templates = make_templates()
    app.state.web = WebContext(store, Queries(store), templates, output_formats())
    app.include_router(web_pages.router, include_in_schema=document_pages)
    app.include_router(web_api.router)
    app.add_api_route("/api/docs", api_docs, response_class=HTMLResponse, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=str(files("huntbrief.app") / "static")), name="static")
    app.middleware("http")(security_headers)
    if allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StoreError, _store_error)
    return app


async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Add the CSP and the other hardening headers to every response."""
    response = await call_next(request)
    response.headers.update(SECURITY_HEADERS)
    if request.url.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def api_docs(request: Request) -> HTMLResponse:
    """The API's endpoints and parameters, rendered from its OpenAPI spec (no external script)."""
    ctx = web_context(request)
    spec: dict[str, Any] = request.app.openapi()
    return ctx.templates.TemplateResponse(request, "api_docs.html", {"spec": spec})


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, detail: Any) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": detail}, status_code=status)
    message = detail if isinstance(detail, str) else "; ".join(str(e.get("msg", e)) for e in detail)
    ctx = web_context(request)
    return ctx.templates.TemplateResponse(
        request, "error.html", {"status": status, "message": message}, status_code=status
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    response = _error(request, exc.status_code, exc.detail)
    response.headers.update(exc.headers or {})
    return response


async def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    if not _wants_json(request) and any(e["loc"][:1] == ["path"] for e in errors):
        return _error(request, 404, "no such page")
    return _error(request, 422, errors)


async def _store_error(request: Request, exc: Exception) -> Response:
    return _error(request, 503, f"the store is unavailable: {exc}")
