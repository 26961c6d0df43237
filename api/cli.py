"""The `autofactura` command: migrate, serve, merchant create, demo, export-schema, pac check,
pac emulate, worker."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from api.settings import get_settings


def _configure_logging(settings) -> None:
    from api.logs import configure

    configure(settings.effective_log_format, settings.log_level)


def _migrate(_args) -> int:
    from persistence.migrate import upgrade

    settings = get_settings()
    _configure_logging(settings)
    upgrade(settings.database_url)  # under a PostgreSQL advisory lock: replicas may start together
    print(f"Migraciones aplicadas a {_safe_url(settings.database_url)}")
    return 0


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


# The app reads X-Forwarded-For itself, only from FORWARDED_ALLOW_IPS (api/app.py):
# uvicorn's own proxy handling trusts 127.0.0.1 unless told otherwise.
UVICORN_OPTIONS = {"proxy_headers": False}


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


def _prepare_multiprocess_metrics(settings, workers: int) -> None:
    """prometheus-client's multiprocess mode for --workers > 1: a directory the worker
    processes share, emptied at start (its files are the previous run's counters). Set in
    the environment before uvicorn spawns the workers, which read it on import."""
    import os

    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory and workers > 1:
        directory = str((settings.var_dir / "prometheus").resolve())
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    if directory:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()


def _serve(args) -> int:
    import uvicorn

    from api.logs import logging_config

    settings = get_settings()
    _prepare_multiprocess_metrics(settings, args.workers)
    _configure_logging(settings)
    if settings.is_sqlite or args.migrate:
        from persistence.migrate import upgrade

        upgrade(settings.database_url)
    if args.demo:
        from api.demo import seed_demo

        print(asyncio.run(seed_demo(settings)))
    print(f"autofactura: portal {settings.public_url}/  ·  consola {settings.public_url}/panel/  ·  "
          f"GraphQL {settings.public_url}/graphql", flush=True)
    if args.workers > 1:
        _keep_tcp_nodelay()
    uvicorn.run("api.asgi:app", host=args.host, port=args.port, workers=args.workers,
                log_level=settings.log_level.lower(),
                log_config=logging_config(settings.effective_log_format, settings.log_level),
                **UVICORN_OPTIONS)
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


def _pac_check(_args) -> int:
    """One authenticated call to the configured PAC; prints its answer; 0 when the
    credentials work, 1 when the PAC refused them or could not be reached."""
    from api.app import pac_from_settings
    from services.stamping import StampingError

    settings = get_settings()
    target = settings.pac_url or settings.pac_environment
    print(f"PAC={settings.pac} ({target})")

    async def run() -> int:
        pac = pac_from_settings(settings)
        try:
            print(await pac.check())
            return 0
        except StampingError as exc:
            detail = f" [{exc.pac_code}: {exc.pac_message}]" if exc.pac_code or exc.pac_message else ""
            print(f"Error [{exc.code}]{' (reintentable)' if exc.retryable else ''}: {exc.message}{detail}",
                  file=sys.stderr)
            return 1
        finally:
            await pac.aclose()

    return asyncio.run(run())


def _pac_emulate(args) -> int:
    """A local Finkok or SW emulator (development): 127.0.0.1 only."""
    from services.stamping.emulator import EmulatorServer, EmulatorState

    state = EmulatorState(Path(args.state_dir))
    if args.username:
        state.users = {args.username: args.password}
    if args.token:
        state.tokens = {args.token}
    server = EmulatorServer(args.kind, state, port=args.port)
    print(f"Emulador de {args.kind} en {server.url} (usuario {next(iter(state.users))}); "
          f"PAC={args.kind} PAC_URL={server.url}", flush=True)
    server.serve_forever()
    return 0


def _worker(args) -> int:
    """The background process: PENDING stamps past their lease, cancellations waiting for
    SAT, the e-mail outbox. --once: one sweep, print what it did, exit."""
    from api.app import build_services
    from services.worker.service import run_forever, run_once

    settings = get_settings()
    _configure_logging(settings)
    if args.metrics_port is not None and not args.once:
        # The stamps this process finishes and its PAC calls, for Prometheus: the worker
        # serves no HTTP otherwise. The backlogs are on every `serve`'s /metrics.
        from prometheus_client import start_http_server

        from api.metrics import process_registry

        server, _ = start_http_server(args.metrics_port, addr=args.metrics_host, registry=process_registry())
        print(f"worker: métricas en http://{args.metrics_host}:{server.server_port}/metrics", flush=True)

    async def run() -> int:
        services = build_services(settings, pdf_inline=True)
        try:
            if args.once:
                sweep = await run_once(services)
                print(f"worker: {sweep.summary()}")
                return 0
            await run_forever(services, args.every)
            return 0
        finally:
            await services.dispose()

    return asyncio.run(run())


def _web_concurrency() -> int:
    """WEB_CONCURRENCY, else the CPUs this process may use (issue 16: one process is
    GIL-bound and leaves the other cores idle; each worker keeps its own pools)."""
    import os

    value = os.environ.get("WEB_CONCURRENCY", "")
    if value.isascii() and value.isdigit() and int(value) > 0:
        return int(value)
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="autofactura", description="Autofacturación CFDI 4.0")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="apply the migrations to DATABASE_URL").set_defaults(func=_migrate)

    serve = sub.add_parser("serve", help="run the service (migrates first on SQLite)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=_web_concurrency(),
                       help="processes (default: WEB_CONCURRENCY, else the number of CPUs)")
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

    pac = sub.add_parser("pac", help="the PAC (stamping service)").add_subparsers(dest="action", required=True)
    pac.add_parser("check", help="one authenticated call to the configured PAC").set_defaults(func=_pac_check)
    emulate = pac.add_parser("emulate", help="run a local emulator of a PAC's protocol (development, tests)")
    emulate.add_argument("--kind", choices=["finkok", "sw"], required=True)
    emulate.add_argument("--port", type=int, default=0, help="0: a free port chosen by the system")
    emulate.add_argument("--username", default="demo@example.com")
    emulate.add_argument("--password", default="demo-password")
    emulate.add_argument("--token", default="demo-token", help="SW account token accepted")
    emulate.add_argument("--state-dir", default="var/pac-emulator")
    emulate.set_defaults(func=_pac_emulate)

    worker = sub.add_parser("worker", help="background duties: pending stamps, cancellations, e-mail")
    worker.add_argument("--once", action="store_true", help="one sweep, then exit")
    worker.add_argument("--every", type=float, default=30.0, help="seconds between sweeps")
    worker.add_argument("--metrics-port", type=int, default=None,
                        help="serve Prometheus metrics on this port (0: one the system picks)")
    worker.add_argument("--metrics-host", default="127.0.0.1", help="address of the metrics listener")
    worker.set_defaults(func=_worker)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
