"""The `autofactura` command: migrate, serve, merchant create, demo, export-schema."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from api.settings import get_settings


def _migrate(_args) -> int:
    from persistence.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    print(f"Migraciones aplicadas a {_safe_url(settings.database_url)}")
    return 0


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def _keep_tcp_nodelay() -> None:
    """uvicorn binds the listener for --workers N with proto 0; accepted sockets inherit it
    and asyncio then leaves Nagle's algorithm on, so every keep-alive response waits ~40 ms
    for the client's delayed ACK (uvicorn issue #3149; measured here: /health 2 ms with one
    worker, 44 ms with two). Re-wrap the bound socket with proto IPPROTO_TCP."""
    import socket

    from uvicorn.config import Config

    if getattr(Config.bind_socket, "_autofactura", False):
        return
    original = Config.bind_socket

    def bind_socket(self) -> socket.socket:
        sock = original(self)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
            sock.set_inheritable(True)
        return sock

    bind_socket._autofactura = True
    Config.bind_socket = bind_socket


def _serve(args) -> int:
    import uvicorn

    settings = get_settings()
    if settings.is_sqlite or args.migrate:
        from persistence.migrate import upgrade

        upgrade(settings.database_url)
    if args.demo:
        from api.demo import seed_demo

        print(asyncio.run(seed_demo(settings)))
    print(f"autofactura: portal {settings.public_url}/  ·  GraphQL {settings.public_url}/graphql", flush=True)
    if args.workers > 1:
        _keep_tcp_nodelay()
    uvicorn.run("api.asgi:app", host=args.host, port=args.port, workers=args.workers, log_level="info", proxy_headers=True)
    return 0


def _merchant_create(args) -> int:
    from api.app import build_services
    from services.kernel.results import Invalid
    from services.merchants.service import MerchantRegistration, register_merchant

    settings = get_settings()
    password = args.password or getpass.getpass("Contraseña del comercio: ")
    key_password = args.key_password if args.key_password is not None else getpass.getpass("Contraseña de la llave del CSD: ")
    try:
        cer, key = Path(args.cer).read_bytes(), Path(args.key).read_bytes()
    except OSError as exc:
        print(f"Error: no se pudo leer {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    reg = MerchantRegistration(
        email=args.email, password=password, certificate_der=cer, key_der=key,
        key_password=key_password, tax_regime=args.tax_regime, zip_code=args.zip_code,
    )

    async def run():
        services = build_services(settings)
        try:
            return await register_merchant(services.uow_factory, services.box, reg)
        finally:
            await services.dispose()

    merchant = asyncio.run(run())
    if isinstance(merchant, Invalid):
        for p in merchant.problems:
            print(f"Error [{p.code}] {p.field}: {p.message}", file=sys.stderr)
        return 1
    print(f"Comercio registrado: {merchant.legal_name} ({merchant.rfc})")
    print(f"Número de comercio: {merchant.company_number}")
    print(f"Certificado: {merchant.certificate_number}")
    return 0


def _demo(_args) -> int:
    from api.demo import seed_demo
    from persistence.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    print(asyncio.run(seed_demo(settings)))
    return 0


def _export_schema(args) -> int:
    from schema.app_schema import schema_sdl

    sdl = schema_sdl()
    if args.check:
        current = Path(args.output).read_text() if Path(args.output).exists() else ""
        if current != sdl:
            print(f"{args.output} is not current: run `autofactura export-schema`", file=sys.stderr)
            return 1
        return 0
    Path(args.output).write_text(sdl)
    print(f"wrote {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="autofactura", description="Autofacturación CFDI 4.0")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="apply the migrations to DATABASE_URL").set_defaults(func=_migrate)

    serve = sub.add_parser("serve", help="run the service (migrates first on SQLite)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--demo", action="store_true", help="seed the demo merchant and sales first")
    serve.add_argument("--migrate", action="store_true", help="migrate first on PostgreSQL too")
    serve.set_defaults(func=_serve)

    merchant = sub.add_parser("merchant", help="merchant administration").add_subparsers(dest="action", required=True)
    create = merchant.add_parser("create", help="register a merchant from its CSD")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="prompted when omitted")
    create.add_argument("--cer", required=True, help="CSD certificate (.cer, DER)")
    create.add_argument("--key", required=True, help="CSD private key (.key, PKCS#8 DER)")
    create.add_argument("--key-password", help="prompted when omitted")
    create.add_argument("--tax-regime", required=True, help="c_RegimenFiscal, e.g. 601")
    create.add_argument("--zip-code", required=True, help="LugarExpedicion (c_CodigoPostal)")
    create.set_defaults(func=_merchant_create)

    sub.add_parser("demo", help="seed the demo merchant and sales (idempotent)").set_defaults(func=_demo)

    export = sub.add_parser("export-schema", help="write the GraphQL SDL to frontend-contract/schema.graphql")
    export.add_argument("--output", default="frontend-contract/schema.graphql")
    export.add_argument("--check", action="store_true", help="exit 1 when the file differs from the code")
    export.set_defaults(func=_export_schema)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
