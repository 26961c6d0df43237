"""The reference self-invoicing portal, a static SPA served at ``/`` and ``/{companyNumber}``,
and the merchant console at ``/panel/`` (``/panel``, ``/admin`` and ``/login`` lead there).

The page is plain HTML, CSS and ES modules (no build step); it talks to ``/graphql`` with
the documents in ``static/operations.js`` (generated from frontend-contract/operations).
Its assets live under ``/static/``; ``/graphql``, ``/health`` and ``/downloads/...`` are
declared before these routes and never match the digits-only company-number route.
"""
from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

# The SPA loads only its own assets and calls only its own origin.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the query string carries the ticket data
}


class _Assets(StaticFiles):
    async def get_response(self, path, scope):
        response = await super().get_response(path, scope)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


def portal_routes(static_dir: Path) -> list[BaseRoute]:
    index = static_dir / "index.html"
    console = static_dir / "panel.html"

    async def console_page(request: Request) -> Response:
        # The merchant console (panel.html): the same origin-only CSP as the portal.
        return FileResponse(console, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    async def to_console(request: Request) -> Response:
        return RedirectResponse("/panel/", status_code=307)

    async def page(request: Request) -> Response:
        company = request.path_params.get("company_number")
        if company is not None and not (company.isascii() and company.isdigit()):
            return Response("Not Found", status_code=404, media_type="text/plain")
        return FileResponse(index, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    return [
        Route("/", page, methods=["GET", "HEAD"]),
        Route("/panel/", console_page, methods=["GET", "HEAD"]),
        # Where a merchant looks for the console first; none of these is a company number.
        Route("/panel", to_console, methods=["GET", "HEAD"]),
        Route("/admin", to_console, methods=["GET", "HEAD"]),
        Route("/login", to_console, methods=["GET", "HEAD"]),
        Route("/{company_number:str}", page, methods=["GET", "HEAD"]),
        Mount("/static", app=_Assets(directory=static_dir), name="static"),
    ]
