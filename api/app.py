"""ASGI application factory: Starlette routes + the Strawberry GraphQL view."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from datetime import timedelta
from pathlib import Path
from typing import assert_never

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.logs import RequestIdMiddleware
from api.metrics import HttpMetricsMiddleware, metrics_endpoint
from api.graphql_http import StrictRequests
from api.middleware import BodySizeLimit
from api.persisted import PersistedOperations
from api.settings import Settings, get_settings
from persistence.db import create_engine, session_factory
from persistence.uow import uow_factory
from persistence.repositories.downloads import DownloadQueries
from persistence.repositories.tickets import TicketQueries
from schema.app_schema import build_schema
from schema.context import Context
from services import catalogs
from services.invoicing import documents
from services.kernel.results import Forbidden, Invalid, NotFound
from services.merchants.branding import SVG, get_logo_by_company
from services.sales.qr import QrPng, ticket_qr_png
from services.outbox import service as outbox
from services.webhooks import service as webhooks
from services.kernel.container import Services
from services.outbox.mail import build_mailer
from services.pdf.pool import PdfRenderer
from services.kernel.security import SecretBox, TokenService
from services.stamping import build_pac
from services.kernel.challenge import Challenges
from services.kernel.throttle import DatabaseThrottle, Limits, RedisThrottle

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"


def build_services(settings: Settings, engine=None, *, pdf_inline: bool = False) -> Services:
    engine = engine or create_engine(settings.database_url, pool_size=settings.database_pool_size)
    uow = uow_factory(session_factory(engine))
    limits = Limits(company_burst=settings.lookup_company_burst)
    services = Services(
        engine=engine,
        uow_factory=uow,
        tokens=TokenService(settings.jwt_secret, settings.jwt_issuer, settings.jwt_previous_secrets),
        box=SecretBox(settings.encryption_secret),
        public_url=settings.public_url,
        merchant_token_ttl=timedelta(minutes=settings.merchant_token_minutes),
        ticket_token_ttl=timedelta(minutes=settings.ticket_token_minutes),
        invoice_token_ttl=timedelta(days=settings.invoice_token_days),
        download_link_ttl=timedelta(minutes=settings.download_link_minutes),
        production=settings.is_production,
        live_stamping=settings.pac != "sandbox",
        allow_signup=settings.signup_allowed,
        pac=pac_from_settings(settings),
        pdf=PdfRenderer(workers=settings.pdf_workers, inline=pdf_inline),
        mailer=build_mailer(
            host=settings.smtp_host, port=settings.smtp_port, use_tls=settings.smtp_tls,
            starttls=settings.smtp_starttls, username=settings.smtp_user, password=settings.smtp_password,
            timeout=settings.smtp_timeout_seconds, outbox_dir=settings.var_dir / "outbox",
        ),
        throttle=RedisThrottle(settings.redis_url, limits) if settings.redis_url else DatabaseThrottle(uow, limits),
        challenges=Challenges(settings.challenge_hmac_key, cost=settings.challenge_cost,
                              max_number=settings.challenge_max_number, ttl=timedelta(minutes=settings.challenge_minutes)),
        tickets=TicketQueries(engine),
        downloads=DownloadQueries(engine),
        mail_from=settings.mail_from,
    )
    return services


def pac_from_settings(settings: Settings):
    return build_pac(
        settings.pac, settings.var_dir / "pac", settings.pac_timeout_seconds, username=settings.pac_username,
        password=settings.pac_password, token=settings.pac_token, environment=settings.pac_environment,
        url=settings.pac_url,
    )


# GraphiQL's own page (development only): its scripts come from this package, never a
# CDN, so it renders offline. GraphiQL and its editor set inline styles.
GRAPHIQL_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class GraphQLView(StrictRequests, PersistedOperations, GraphQL):
    def __init__(self, services: Services, **kwargs) -> None:
        super().__init__(**kwargs)
        self.services = services

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse((STATIC / "graphiql.html").read_text(encoding="utf-8"), headers={
            "Content-Security-Policy": GRAPHIQL_CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache",
        })

    async def get_context(self, request, response) -> Context:
        context = Context(self.services, request, response)
        await context.authenticate()
        return context


def create_app(settings: Settings | None = None, services: Services | None = None, *, freeze_gc: bool = False
               ) -> Starlette:
    """``freeze_gc``: a serving process's own app (api.asgi). Once started, what is loaded
    (the schema, SAT's catalogues, satcfdi's and lxml's data, the PDF templates: about
    250,000 objects) is moved out of the garbage collector's sight with ``gc.freeze()``.
    Python's full collection walks every tracked object, 50 to 80 ms here with the event
    loop stopped, and every request in flight waits for it: a tail-latency spike on
    objects that live as long as the process. Not for tests, which build many apps in one
    process (what each froze would never be collected)."""
    settings = settings or get_settings()
    services = services or build_services(settings)
    schema = build_schema(
        production=settings.is_production,
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
    )
    graphql = GraphQLView(
        services,
        schema=schema,
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=False,  # no state change nor token in a GET URL
    )

    async def health(request: Request) -> Response:
        async with services.uow_factory() as uow:
            await uow.ping()
        return JSONResponse({"status": "ok"})

    async def download(request: Request) -> Response:
        public_id, kind = request.path_params["public_id"], request.path_params["kind"]
        result = await documents.download(services, public_id, kind, request.query_params.get("token", ""))
        match result:
            case Forbidden(message=message):
                return JSONResponse({"error": message}, status_code=403)
            case NotFound(message=message):
                return JSONResponse({"error": message}, status_code=404)
            case documents.DownloadFile():
                return Response(result.body, media_type=result.media_type, headers={
                    "Content-Disposition": f'attachment; filename="{result.file_name}"',
                    "Cache-Control": "private, no-store",
                    "X-Content-Type-Options": "nosniff",
                })
            case _:
                assert_never(result)

    async def ticket_qr(request: Request) -> Response:
        params = request.query_params
        result = ticket_qr_png(services.public_url, request.path_params["company_number"],
                               params.get("reference", ""), params.get("total", ""), params.get("size"))
        match result:
            case Invalid(problems=problems):
                return JSONResponse(
                    {"errors": [{"field": p.field, "code": str(p.code), "message": p.message} for p in problems]},
                    status_code=400, headers={"X-Content-Type-Options": "nosniff"},
                )
            case QrPng():
                # The same query always draws the same image.
                return Response(result.body, media_type="image/png", headers={
                    "Cache-Control": "public, max-age=86400",
                    "X-Content-Type-Options": "nosniff",
                    "Content-Security-Policy": "default-src 'none'",
                })
            case _:
                assert_never(result)

    async def logo(request: Request) -> Response:
        found = await get_logo_by_company(services.uow_factory, request.path_params["company_number"])
        if found is None:
            return JSONResponse({"error": "Este comercio no tiene logotipo."}, status_code=404)
        return Response(found.body, media_type=found.media_type, headers={
            # An image, never a document that could run in this origin: no script, no
            # fetch, sandboxed even if opened directly; the type is exactly the stored one.
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": "inline; filename=\"logo." + ("svg" if found.media_type == SVG else "png") + "\"",
            "Cache-Control": "public, max-age=300",
            "ETag": f'"{found.sha256[:32]}"',
        })

    @contextlib.asynccontextmanager
    async def lifespan(app):
        catalogs.warm()
        if hasattr(services.pac, "warm"):
            await services.pac.warm()  # sandbox certificate and XSLT, before the first request
        await services.pdf.start()
        if freeze_gc:
            gc.collect()  # what start-up left as garbage is collected first, not frozen
            gc.freeze()
        loops = [asyncio.create_task(outbox.run_forever(services)), asyncio.create_task(webhooks.run_forever(services))]
        try:
            yield
        finally:
            for loop in loops:
                loop.cancel()
            for loop in loops:
                with contextlib.suppress(asyncio.CancelledError):
                    await loop
            await services.pdf.close()
            await services.dispose()

    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/health", health),
        Route("/metrics", metrics_endpoint(services, settings.metrics_token)),
        Route("/downloads/{public_id:str}.{kind:str}", download),
        Route("/qr/{company_number:str}.png", ticket_qr, methods=["GET", "HEAD"]),
        Route("/logos/{company_number:str}", logo, methods=["GET", "HEAD"]),
    ]
    if STATIC.is_dir():
        from api.portal_routes import portal_routes

        routes += portal_routes(STATIC)
    # The request id first, so every line logged while answering (the access line too)
    # carries it; then the request metrics, which see every answer, a 413 included.
    middleware = [Middleware(RequestIdMiddleware), Middleware(HttpMetricsMiddleware)]
    if settings.forwarded_allow_ips.strip():
        # The client address (throttles) and scheme from the listed proxies' headers.
        # `autofactura serve` runs uvicorn without its own proxy handling, which would
        # trust 127.0.0.1 whatever this setting says.
        middleware.append(Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips))
    middleware.append(Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes))
    if settings.cors_origins:
        # SPAs served from the merchants' own domains call the API cross-origin. Tokens
        # travel in the Authorization header, never in cookies: no credentials mode.
        middleware.append(Middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"], max_age=600,
        ))
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.services = services
    return app
