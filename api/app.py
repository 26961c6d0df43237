"""ASGI application factory: Starlette routes + the Strawberry GraphQL view."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from api.middleware import BodySizeLimit
from api.persisted import PersistedOperations
from api.settings import Settings, get_settings
from persistence.db import create_engine, session_factory
from persistence.uow import uow_factory
from schema.app_schema import build_schema
from schema.context import Context
from services import catalogs, documents, notifications
from services.container import Services
from services.mail import build_mailer
from services.pdf.pool import PdfRenderer
from services.security import DOWNLOAD, SecretBox, TokenError, TokenService
from services.stamping import build_pac
from services.throttle import DatabaseThrottle, RedisThrottle

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"


def build_services(settings: Settings, engine=None, *, pdf_inline: bool = False) -> Services:
    engine = engine or create_engine(settings.database_url)
    uow = uow_factory(session_factory(engine))
    services = Services(
        uow_factory=uow,
        tokens=TokenService(settings.jwt_secret, settings.jwt_issuer, settings.jwt_previous_secrets),
        box=SecretBox(settings.encryption_secret),
        public_url=settings.public_url,
        merchant_token_ttl=timedelta(minutes=settings.merchant_token_minutes),
        ticket_token_ttl=timedelta(minutes=settings.ticket_token_minutes),
        invoice_token_ttl=timedelta(days=settings.invoice_token_days),
        download_link_ttl=timedelta(minutes=settings.download_link_minutes),
        production=settings.is_production,
        pac=build_pac(settings.pac, settings.var_dir / "pac", settings.pac_timeout_seconds),
        pdf=PdfRenderer(workers=settings.pdf_workers, inline=pdf_inline),
        mailer=build_mailer(
            host=settings.smtp_host, port=settings.smtp_port, use_tls=settings.smtp_tls,
            starttls=settings.smtp_starttls, username=settings.smtp_user, password=settings.smtp_password,
            timeout=settings.smtp_timeout_seconds, outbox_dir=settings.var_dir / "outbox",
        ),
        mail_from=settings.mail_from,
    )
    services.throttle = RedisThrottle(settings.redis_url) if settings.redis_url else DatabaseThrottle(uow)
    services.extras["engine"] = engine
    return services


class GraphQLView(PersistedOperations, GraphQL):
    def __init__(self, services: Services, **kwargs) -> None:
        super().__init__(**kwargs)
        self.services = services

    async def get_context(self, request, response) -> Context:
        return Context(self.services, request, response)


def create_app(settings: Settings | None = None, services: Services | None = None) -> Starlette:
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
            await uow.session.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok"})

    async def download(request: Request) -> Response:
        public_id, kind = request.path_params["public_id"], request.path_params["kind"]
        token = request.query_params.get("token", "")
        try:
            claims = services.tokens.decode(token, DOWNLOAD)
        except TokenError:
            return JSONResponse({"error": "El enlace de descarga no es válido o expiró. Vuelve a consultar la factura."}, status_code=403)
        if claims.subject != public_id or claims.extra.get("k") != kind:
            return JSONResponse({"error": "El enlace no corresponde a este archivo."}, status_code=403)
        async with services.uow_factory() as uow:
            # A factura global's public id starts with "g" (never hex, so never an invoice's).
            repository = uow.global_invoices if public_id.startswith("g") else uow.invoices
            row = await repository.by_public_id(public_id)
            merchant = await uow.merchants.by_id(row.merchant_id) if row else None
        if row is None or row.stamped_xml is None:
            return JSONResponse({"error": "La factura no existe o aún no está timbrada."}, status_code=404)
        name = documents.file_name(merchant.rfc, row, kind)
        if kind == "xml":
            body, media = row.stamped_xml, "application/xml"
        else:
            body, media = await documents.ensure_pdf(services, row), "application/pdf"
        return Response(body, media_type=media, headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        })

    @contextlib.asynccontextmanager
    async def lifespan(app):
        catalogs.warm()
        if hasattr(services.pac, "warm"):
            await services.pac.warm()  # sandbox certificate and XSLT, before the first request
        await services.pdf.start()
        worker = asyncio.create_task(notifications.run_forever(services))
        try:
            yield
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            await services.pdf.close()
            await services.extras["engine"].dispose()

    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/health", health),
        Route("/downloads/{public_id:str}.{kind:str}", download),
    ]
    if STATIC.is_dir():
        from api.portal_routes import portal_routes

        routes += portal_routes(STATIC)
    middleware = [Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)]
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
